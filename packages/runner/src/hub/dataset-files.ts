// Which parquet files of a hub dataset hold a config's split. Datasets on the hub use one of:
//   <config>/<split>-00000-of-00001.parquet      (e.g. nyu-mll/glue: sst2/train-00000-of-00001.parquet)
//   data/<split>-00000-of-00001.parquet          (single-config datasets, config 'default')
//   <config>/<split>/0000.parquet                (the auto-converted branch refs/convert/parquet)
import { repoPaths, writeRef } from './cache-layout.ts'
import { downloadWithEnv, type CachedFile, type DownloadOptions, type HubOptions } from './download.ts'
import { resolveHubEnv } from './env.ts'
import { DatasetSplitNotFoundError, RevisionNotFoundError } from './errors.ts'
import { validateFilename, validateRepoId } from './names.ts'
import { listRepoFiles } from './repo-files.ts'

export const PARQUET_REVISION = 'refs/convert/parquet'

export interface SplitFiles {
  /** The id as passed (cache folder name); `canonicalId` is what the hub calls it. */
  repoId: string
  canonicalId: string
  config: string
  split: string
  revision: string
  commitHash: string
  /** Paths inside the repo, sorted (shard order). */
  files: string[]
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Picks the files of `config`/`split` from a repo's file list; [] when the layout has none. */
export function pickSplitFiles(files: readonly string[], config: string, split: string): string[] {
  const c = esc(config)
  const s = esc(split)
  const layouts = [
    new RegExp(`^${c}/${s}(?:-[^/]*)?\\.parquet$`),
    new RegExp(`^${c}/(?:partial-)?${s}/[^/]+\\.parquet$`),
  ]
  // data/<split>-*.parquet belongs to the 'default' config, or to a repo with no folder per config.
  if (config === 'default' || !files.some((f) => f.startsWith(`${config}/`))) layouts.push(new RegExp(`^data/${s}(?:-[^/]*)?\\.parquet$`))
  for (const re of layouts) {
    const hit = files.filter((f) => re.test(f))
    if (hit.length > 0) return [...hit].sort()
  }
  return []
}

/** 'config/split' pairs that a file list offers, for error messages. */
export function availableSplits(files: readonly string[]): string[] {
  const out = new Set<string>()
  for (const f of files) {
    let m = /^([^/]+)\/([^/]+?)(?:-\d+-of-\d+)?\.parquet$/.exec(f)
    if (m) {
      out.add(m[1] === 'data' ? `default/${m[2]}` : `${m[1]}/${m[2]}`)
      continue
    }
    m = /^([^/]+)\/(?:partial-)?([^/]+)\/[^/]+\.parquet$/.exec(f)
    if (m) out.add(`${m[1]}/${m[2]}`)
  }
  return [...out].sort()
}

/**
 * The parquet files of `config`/`split` of a dataset. Lists `revision` (default main); when that
 * has no parquet for the split and no revision was asked for, tries refs/convert/parquet.
 */
export async function datasetSplitFiles(repoId: string, config: string, split: string, opts: HubOptions = {}): Promise<SplitFiles> {
  validateRepoId(repoId)
  validateFilename(config)
  validateFilename(split)
  const revisions = opts.revision !== undefined ? [opts.revision] : ['main', PARQUET_REVISION]
  const seen: string[] = []
  for (const revision of revisions) {
    let listing
    try {
      listing = await listRepoFiles(repoId, { ...opts, repoType: 'dataset', revision })
    } catch (e) {
      // The converted branch is optional; its absence is not the user's error.
      if (revision === PARQUET_REVISION && seen.length > 0 && (e instanceof RevisionNotFoundError || (e as { _tag?: string })._tag === 'NotInCacheError')) break
      throw e
    }
    const files = pickSplitFiles(listing.files, config, split)
    if (files.length > 0)
      return { repoId, canonicalId: listing.repoId, config, split, revision, commitHash: listing.commitHash, files }
    seen.push(...availableSplits(listing.files).map((s) => (revision === 'main' ? s : `${s} (${revision})`)))
  }
  const revs = revisions.join(' and ')
  throw new DatasetSplitNotFoundError({
    repo: repoId,
    config,
    split,
    revision: revisions[0]!,
    available: seen,
    message: `Dataset '${repoId}' has no parquet files for config '${config}', split '${split}' (looked at ${revs}). ${
      seen.length > 0 ? `Available: ${seen.join(', ')}.` : 'No parquet files were found at all.'
    } Check the config and split names on the dataset page.`,
  })
}

/** Lists and downloads a split; returns the cached files in shard order. */
export async function downloadDatasetSplit(
  repoId: string,
  config: string,
  split: string,
  opts: DownloadOptions = {},
): Promise<SplitFiles & { cached: CachedFile[] }> {
  const found = await datasetSplitFiles(repoId, config, split, opts)
  const env = resolveHubEnv(opts, opts.env)
  // Remember branch -> commit so that the split can be listed again offline.
  writeRef(repoPaths(env.cacheDir, repoId, 'dataset'), found.revision, found.commitHash)
  const cached: CachedFile[] = []
  for (const file of found.files)
    cached.push(await downloadWithEnv(env, { repo: repoId, repoType: 'dataset', revision: found.commitHash, file }, opts))
  return { ...found, cached }
}
