// Hugging Face hub client with a cache in huggingface_hub's exact layout (files fetched by Python
// are reused by lorapipe and vice versa). Plain async functions that reject with the tagged errors
// of errors.ts, plus Effect versions whose error channel is HubError.
import * as Effect from 'effect/Effect'
import { hfHubDownload, hfHubDownloadInfo, type CachedFile, type DownloadOptions, type HubOptions } from './download.ts'
import { datasetSplitFiles, downloadDatasetSplit, type SplitFiles } from './dataset-files.ts'
import { isHubError, type HubError } from './errors.ts'
import { listRepoFiles, snapshotDownload, type RepoListing, type Snapshot, type SnapshotOptions } from './repo-files.ts'

export * from './errors.ts'
export { resolveHubEnv, DEFAULT_ENDPOINT, DEFAULT_REVISION, type HubEnv, type HubEnvOverrides } from './env.ts'
export { hfHubDownload, hfHubDownloadInfo, hfHubUrl, type CachedFile, type DownloadOptions, type HubOptions, type HubEvent } from './download.ts'
export { listRepoFiles, snapshotDownload, matchesPattern, type RepoListing, type Snapshot, type SnapshotOptions } from './repo-files.ts'
export { datasetSplitFiles, downloadDatasetSplit, pickSplitFiles, availableSplits, PARQUET_REVISION, type SplitFiles } from './dataset-files.ts'
export { scanCache, deleteRepo, type CacheScan, type CachedRepo, type CachedRevision, type DeletedRepo } from './cache-admin.ts'
export { repoFolderName, validateRepoId, validateFilename, validateRevision } from './names.ts'
export type { DownloadProgress, ProgressCallback } from './progress.ts'

// Hub errors go to the error channel; anything else (a bug, EACCES on the cache) is a defect.
function lift<A>(run: () => Promise<A>): Effect.Effect<A, HubError> {
  return Effect.tryPromise({ try: run, catch: (e) => e }).pipe(
    Effect.catchAll((e) => (isHubError(e) ? Effect.fail(e) : Effect.die(e))),
  )
}

export const hfHubDownloadEffect = (repoId: string, filename: string, opts?: DownloadOptions): Effect.Effect<string, HubError> =>
  lift(() => hfHubDownload(repoId, filename, opts))

export const hfHubDownloadInfoEffect = (repoId: string, filename: string, opts?: DownloadOptions): Effect.Effect<CachedFile, HubError> =>
  lift(() => hfHubDownloadInfo(repoId, filename, opts))

export const listRepoFilesEffect = (repoId: string, opts?: HubOptions): Effect.Effect<RepoListing, HubError> => lift(() => listRepoFiles(repoId, opts))

export const snapshotDownloadEffect = (repoId: string, opts?: SnapshotOptions): Effect.Effect<Snapshot, HubError> => lift(() => snapshotDownload(repoId, opts))

export const datasetSplitFilesEffect = (repoId: string, config: string, split: string, opts?: HubOptions): Effect.Effect<SplitFiles, HubError> =>
  lift(() => datasetSplitFiles(repoId, config, split, opts))

export const downloadDatasetSplitEffect = (
  repoId: string,
  config: string,
  split: string,
  opts?: DownloadOptions,
): Effect.Effect<SplitFiles & { cached: CachedFile[] }, HubError> => lift(() => downloadDatasetSplit(repoId, config, split, opts))
