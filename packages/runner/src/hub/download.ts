// hfHubDownload: one file from the hub into huggingface_hub's cache, following its
// _hf_hub_download_to_cache_dir step by step (HEAD for metadata, fall back to the cache when the
// hub cannot be reached, refs/snapshots/blobs layout, a lock per blob, .incomplete + resume),
// with verification (size, and sha256 for LFS blobs) before a blob is renamed into place.
import { createHash } from 'node:crypto'
import { createReadStream, mkdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { open, rename, truncate } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type * as Redacted from 'effect/Redacted'
import { blobPath, fileSize, linkPointer, lockPath, markNoExist, pointerPath, readRef, repoPaths, writeRef, type RepoPaths } from './cache-layout.ts'
import { DEFAULT_REVISION, resolveHubEnv, type HubEnv } from './env.ts'
import {
  checksumMismatch,
  diskFull,
  EntryNotFoundError,
  HubAccessError,
  HubHttpError,
  HubMetadataError,
  HubNetworkError,
  httpStatusError,
  metadataError,
  networkError,
  notInCache,
  RepoNotFoundError,
  RevisionNotFoundError,
  type HubTarget,
  type RepoType,
} from './errors.ts'
import { asNetworkFailure, header, httpRequest, NetworkFailure, readBody } from './http.ts'
import { withLock, type LockOptions } from './lock.ts'
import {
  COMMIT_HASH,
  normalizeEtag,
  quoteAll,
  quotePath,
  SHA256,
  urlPrefix,
  validateCommitHash,
  validateEtag,
  validateFilename,
  validateRepoId,
  validateRepoType,
  validateRevision,
} from './names.ts'
import { progressMeter, type ProgressCallback, type ProgressMeter } from './progress.ts'

/** Things worth telling the user that are not errors. */
export type HubEvent =
  | { type: 'warning'; repo: string; file?: string | undefined; message: string }
  | { type: 'waiting-for-lock'; repo: string; file: string; holder: string }
  | { type: 'resume'; repo: string; file: string; from: number; total: number }
  | { type: 'retry'; repo: string; file: string; attempt: number; message: string }

/** Options shared by every hub call. */
export interface HubOptions {
  repoType?: RepoType | undefined
  /** Branch, tag or commit hash (default 'main'). */
  revision?: string | undefined
  /** Overrides HF_HUB_CACHE. */
  cacheDir?: string | undefined
  /** Overrides HF_ENDPOINT. */
  endpoint?: string | undefined
  /** A token, or false to send none; default HF_TOKEN or the token file. */
  token?: string | false | undefined
  /** Use the cache only (as HF_HUB_OFFLINE=1 / local_files_only=True). */
  offline?: boolean | undefined
  /** Environment to resolve HF_* variables from (default process.env). */
  env?: NodeJS.ProcessEnv | undefined
  onEvent?: ((e: HubEvent) => void) | undefined
  signal?: AbortSignal | undefined
}

export interface DownloadOptions extends HubOptions {
  forceDownload?: boolean | undefined
  onProgress?: ProgressCallback | undefined
  /** Reconnect attempts after a dropped connection without progress (default 5, as huggingface_hub). */
  retries?: number | undefined
  retryDelayMs?: number | undefined
  /** Timeout of the metadata HEAD request (default HF_HUB_ETAG_TIMEOUT or 10 s). */
  etagTimeoutMs?: number | undefined
  /** Socket idle timeout while downloading (default HF_HUB_DOWNLOAD_TIMEOUT or 10 s). */
  downloadTimeoutMs?: number | undefined
  lock?: Omit<LockOptions, 'onWait'> | undefined
}

export interface CachedFile {
  /** snapshots/<commit>/<file>: the path to read (a symlink into blobs/). */
  path: string
  repo: string
  repoType: RepoType
  revision: string
  file: string
  commitHash: string
  size: number
  /** 'download': fetched now; 'cache': already cached and checked against the hub (or a commit hash); 'cache-fallback': hub unreachable or offline. */
  source: 'download' | 'cache' | 'cache-fallback'
}

interface FileMetadata {
  commitHash: string
  etag: string
  size: number
  /** Where to GET: the resolve URL, or the CDN URL of an LFS blob (a redirect the HEAD did not follow). */
  location: string
}

/** The resolve URL of a file, as huggingface_hub's hf_hub_url. */
export function hfHubUrl(endpoint: string, repoId: string, filename: string, repoType: RepoType = 'model', revision = DEFAULT_REVISION): string {
  return `${endpoint}/${urlPrefix(repoType)}${repoId}/resolve/${quoteAll(revision)}/${quotePath(filename)}`
}

function envSeconds(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v)
  return Number.isFinite(n) && n > 0 ? n * 1000 : undefined
}

/** Downloads one file (or finds it in the cache) and returns the path of its snapshot entry. */
export async function hfHubDownload(repoId: string, filename: string, opts: DownloadOptions = {}): Promise<string> {
  return (await hfHubDownloadInfo(repoId, filename, opts)).path
}

/** As hfHubDownload, with the commit, size and whether the network was used. */
export async function hfHubDownloadInfo(repoId: string, filename: string, opts: DownloadOptions = {}): Promise<CachedFile> {
  const repoType = validateRepoType(opts.repoType ?? 'model')
  validateRepoId(repoId)
  validateFilename(filename)
  const revision = validateRevision(opts.revision ?? DEFAULT_REVISION)
  const env = resolveHubEnv(opts, opts.env)
  return downloadWithEnv(env, { repo: repoId, repoType, revision, file: filename }, opts)
}

/** The download itself, for callers (snapshotDownload) that resolved the environment already. */
export async function downloadWithEnv(env: HubEnv, t: HubTarget & { file: string }, opts: DownloadOptions): Promise<CachedFile> {
  const paths = repoPaths(env.cacheDir, t.repo, t.repoType)
  const force = opts.forceDownload === true
  const result = (path: string, commitHash: string, size: number, source: CachedFile['source']): CachedFile => ({
    path,
    repo: t.repo,
    repoType: t.repoType,
    revision: t.revision,
    file: t.file,
    commitHash,
    size,
    source,
  })

  // A commit hash whose file is already in the cache needs no request at all.
  if (COMMIT_HASH.test(t.revision) && !force) {
    const p = pointerPath(paths, t.revision, t.file)
    const size = fileSize(p)
    if (size !== undefined) return result(p, t.revision, size, 'cache')
  }

  const url = hfHubUrl(env.endpoint, t.repo, t.file, t.repoType, t.revision)
  let meta: FileMetadata | undefined
  let headError: Error | undefined
  if (env.offline) {
    headError = undefined
  } else {
    const etagTimeout = opts.etagTimeoutMs ?? envSeconds((opts.env ?? process.env).HF_HUB_ETAG_TIMEOUT) ?? 10_000
    try {
      meta = await fileMetadata(url, env.token, t, etagTimeout, opts.signal, paths)
    } catch (e) {
      // Like huggingface_hub: a missing revision or file is final; anything else (no network,
      // 401/403, 5xx, a proxy answering instead of the hub) is a reason to try the cache first.
      if (e instanceof RevisionNotFoundError || e instanceof EntryNotFoundError) throw e
      if (e instanceof HubNetworkError || e instanceof HubHttpError || e instanceof RepoNotFoundError || e instanceof HubAccessError || e instanceof HubMetadataError)
        headError = e
      else throw e
    }
  }

  if (meta === undefined) {
    if (!force) {
      const commit = COMMIT_HASH.test(t.revision) ? t.revision : readRef(paths, t.revision)
      if (commit !== undefined) {
        const p = pointerPath(paths, commit, t.file)
        const size = fileSize(p)
        if (size !== undefined) {
          if (headError)
            opts.onEvent?.({
              type: 'warning',
              repo: t.repo,
              file: t.file,
              message: `Could not check ${t.file} of ${t.repo} on the hub (${headError.message.split('\n')[0]}); using the cached copy from commit ${commit.slice(0, 12)}.`,
            })
          return result(p, commit, size, 'cache-fallback')
        }
      }
    }
    if (headError === undefined) throw notInCache(t, env.cacheDir, true)
    if (headError instanceof HubNetworkError)
      throw networkError(t, headError.url, headError.code, headError.detail, 'uncached')
    throw headError
  }

  const { commitHash, etag, size } = meta
  const blob = blobPath(paths, etag)
  const pointer = pointerPath(paths, commitHash, t.file)
  mkdirSync(dirname(blob), { recursive: true })
  mkdirSync(dirname(pointer), { recursive: true })
  writeRef(paths, t.revision, commitHash)

  if (!force && fileSize(pointer) === size) return result(pointer, commitHash, size, 'cache')

  // The lock serialises everything that writes this blob: the download and the pointer.
  const lockOpts: LockOptions = {
    ...(opts.lock ?? {}),
    onWait: (holder) => opts.onEvent?.({ type: 'waiting-for-lock', repo: t.repo, file: t.file, holder }),
  }
  let source: CachedFile['source'] = 'cache'
  await withLock(lockPath(paths, etag), lockOpts, async () => {
    const existing = fileSize(blob)
    if (existing !== undefined && (force || existing !== size)) {
      if (!force)
        opts.onEvent?.({
          type: 'warning',
          repo: t.repo,
          file: t.file,
          message: `Cached blob of ${t.file} has ${existing} bytes, the hub says ${size}: downloading it again.`,
        })
      unlinkSync(blob)
    }
    if (fileSize(blob) !== size) {
      // Same host: a redirect of a renamed repo, keep the token. Another host: a signed CDN URL, drop it.
      const sameHost = new URL(meta.location).host === new URL(url).host
      await downloadBlob(meta.location, sameHost ? env.token : undefined, blob, size, etag, t, opts, force)
      source = 'download'
    }
    linkPointer(blob, pointer)
  })
  return result(pointer, commitHash, size, source)
}

/** HEAD on the resolve URL like huggingface_hub's get_hf_file_metadata. */
async function fileMetadata(
  url: string,
  token: Redacted.Redacted<string> | undefined,
  t: HubTarget,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  paths: RepoPaths,
): Promise<FileMetadata> {
  let res
  try {
    res = await httpRequest({ url, method: 'HEAD', token, follow: 'relative', timeoutMs, signal })
  } catch (e) {
    const nf = asNetworkFailure(e)
    if (nf) throw networkError(t, url, nf.code, nf.message, 'metadata')
    throw e
  }
  res.body.resume()
  const h = res.headers
  if (res.status >= 400) {
    const err = httpStatusError(t, res.status, res.url, header(h, 'x-error-code'), header(h, 'x-error-message'), res.tokenSent)
    const commit = header(h, 'x-repo-commit')
    if (err instanceof EntryNotFoundError && header(h, 'x-error-code') === 'EntryNotFound' && commit !== undefined && t.file !== undefined) {
      try {
        validateCommitHash(commit)
        markNoExist(paths, commit, t.file)
        writeRef(paths, t.revision, commit)
      } catch {
        // a bad commit header does not change the answer: the file is not there
      }
    }
    throw err
  }
  const commit = header(h, 'x-repo-commit')
  if (!commit) throw metadataError(t, url, 'X-Repo-Commit header')
  const rawEtag = header(h, 'x-linked-etag') ?? header(h, 'etag')
  if (!rawEtag) throw metadataError(t, url, 'ETag header')
  const rawSize = header(h, 'x-linked-size') ?? header(h, 'content-length')
  const size = rawSize !== undefined && /^\d+$/.test(rawSize.trim()) ? Number(rawSize.trim()) : NaN
  if (!Number.isSafeInteger(size)) throw metadataError(t, url, 'Content-Length (or X-Linked-Size) header')
  const location = res.status >= 300 && res.status < 400 && header(h, 'location') ? new URL(header(h, 'location')!, res.url).toString() : res.url
  return { commitHash: validateCommitHash(commit), etag: validateEtag(normalizeEtag(rawEtag)), size, location }
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT'])

/**
 * Fills blobs/<etag>.incomplete (resuming what is there) and renames it to blobs/<etag> once its
 * size and, for LFS blobs, its sha256 match. A dropped connection keeps the partial file for the
 * next attempt; wrong content deletes it.
 */
async function downloadBlob(
  url: string,
  token: Redacted.Redacted<string> | undefined,
  blob: string,
  size: number,
  etag: string,
  t: HubTarget & { file: string },
  opts: DownloadOptions,
  force: boolean,
): Promise<void> {
  const incomplete = `${blob}.incomplete`
  if (force && fileSize(incomplete) !== undefined) unlinkSync(incomplete)
  const retries = opts.retries ?? 5
  const timeoutMs = opts.downloadTimeoutMs ?? envSeconds((opts.env ?? process.env).HF_HUB_DOWNLOAD_TIMEOUT) ?? 10_000
  const meter = progressMeter(opts.onProgress, t.repo, t.file, size)
  if (size === 0 && fileSize(incomplete) === undefined) writeFileSync(incomplete, '')
  let failures = 0
  for (;;) {
    const before = fileSize(incomplete) ?? 0
    try {
      await fetchInto(url, token, incomplete, size, t, opts, timeoutMs, meter)
      break
    } catch (e) {
      if (!(e instanceof NetworkFailure) || e.code === 'ABORTED' || opts.signal?.aborted) {
        if (e instanceof NetworkFailure) throw networkError(t, url, e.code, e.message, 'interrupted')
        throw e
      }
      const after = fileSize(incomplete) ?? 0
      failures = after > before ? 1 : failures + 1
      if (failures > retries) throw networkError(t, url, e.code, `${e.message} (${after} of ${size} bytes kept in ${incomplete})`, 'interrupted')
      opts.onEvent?.({ type: 'retry', repo: t.repo, file: t.file, attempt: failures, message: `${e.message}; resuming from byte ${after}` })
      await sleep(opts.retryDelayMs ?? 1000)
    }
  }

  // Verify before the blob becomes visible under its final name.
  const got = fileSize(incomplete) ?? 0
  if (got !== size) {
    unlinkSync(incomplete)
    throw checksumMismatch(t, 'size', `${size} bytes`, `${got} bytes`)
  }
  if (SHA256.test(etag)) {
    const digest = await sha256File(incomplete)
    if (digest !== etag) {
      unlinkSync(incomplete)
      throw checksumMismatch(t, 'sha256', etag, digest)
    }
  }
  await rename(incomplete, blob)
  meter.finish(size)
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const h = createHash('sha256')
    const s = createReadStream(path)
    s.on('data', (c) => h.update(c))
    s.on('error', reject)
    s.on('end', () => resolvePromise(h.digest('hex')))
  })
}

/** One GET: appends to the .incomplete file from where it stops. Throws NetworkFailure when cut short. */
async function fetchInto(
  url: string,
  token: Redacted.Redacted<string> | undefined,
  incomplete: string,
  size: number,
  t: HubTarget & { file: string },
  opts: DownloadOptions,
  timeoutMs: number,
  meter: ProgressMeter,
): Promise<void> {
  let resume = fileSize(incomplete) ?? 0
  if (resume > size) {
    await truncate(incomplete, 0)
    resume = 0
  }
  if (resume === size) return
  if (resume > 0) opts.onEvent?.({ type: 'resume', repo: t.repo, file: t.file, from: resume, total: size })

  let res
  try {
    res = await httpRequest({
      url,
      method: 'GET',
      token,
      follow: 'all',
      timeoutMs,
      signal: opts.signal,
      headers: resume > 0 ? { range: `bytes=${resume}-` } : {},
    })
  } catch (e) {
    throw asNetworkFailure(e) ?? e
  }
  if (res.status === 416 && resume > 0) {
    // Our partial file does not fit the server's file: start over.
    res.body.resume()
    await truncate(incomplete, 0)
    return fetchInto(url, token, incomplete, size, t, opts, timeoutMs, meter)
  }
  if (res.status >= 400) {
    const body = await readBody(res.body, 64 * 1024).catch(() => Buffer.alloc(0))
    throw httpStatusError(t, res.status, res.url, header(res.headers, 'x-error-code'), header(res.headers, 'x-error-message') ?? (body.toString('utf8').slice(0, 200) || undefined), res.tokenSent)
  }
  if (resume > 0) {
    const range = /^bytes (\d+)-/.exec(header(res.headers, 'content-range') ?? '')
    if (res.status !== 206 || !range || Number(range[1]) !== resume) {
      // The server ignored the Range header (or answered another range): rewrite from zero.
      if (res.status === 206) {
        res.body.destroy()
        await truncate(incomplete, 0)
        return fetchInto(url, token, incomplete, size, t, opts, timeoutMs, meter)
      }
      await truncate(incomplete, 0)
      resume = 0
      meter.reset(0)
    }
  }

  const fh = await open(incomplete, resume > 0 ? 'a' : 'w')
  let bytes = resume
  meter.update(bytes)
  try {
    try {
      for await (const chunk of res.body) {
        const b = chunk as Buffer
        if (bytes + b.length > size) {
          res.body.destroy()
          // More bytes than announced: the content is not the file we expect.
          await fh.write(b.subarray(0, size - bytes + 1))
          bytes = size + 1
          break
        }
        await fh.write(b)
        bytes += b.length
        meter.update(bytes)
      }
    } catch (e) {
      if (DISK_FULL.has((e as NodeJS.ErrnoException).code ?? '')) throw diskFull(t, incomplete)
      throw asNetworkFailure(e) ?? e
    }
    try {
      await fh.sync()
    } catch (e) {
      if (DISK_FULL.has((e as NodeJS.ErrnoException).code ?? '')) throw diskFull(t, incomplete)
      throw e
    }
  } finally {
    await fh.close().catch(() => {})
  }
  if (bytes < size) throw new NetworkFailure('ECONNRESET', `the connection closed after ${bytes} of ${size} bytes`)
}
