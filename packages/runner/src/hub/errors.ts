// Tagged errors of the hub client. Each names the repository, file and revision it was about and
// says what the user can do. None of them ever carries the token: messages are built from URLs
// and names only, and the token itself travels as an Effect `Redacted` value elsewhere.
import * as Data from 'effect/Data'
import { redact } from '@lorapipe/core/text/redact.ts'

export type RepoType = 'model' | 'dataset' | 'space'

/** Where an error happened: the repo (as the user passed it), its type, the file and revision. */
export interface HubTarget {
  readonly repo: string
  readonly repoType: RepoType
  readonly revision: string
  readonly file?: string | undefined
}

function where(t: HubTarget): string {
  const kind = t.repoType === 'model' ? 'model' : t.repoType
  const file = t.file !== undefined ? `file '${t.file}' of ` : ''
  return `${file}${kind} '${t.repo}' at revision '${t.revision}'`
}

/** A repo id, file name, revision, or a name sent by the server that is not a safe cache path. */
export class InvalidHubNameError extends Data.TaggedError('InvalidHubNameError')<{
  kind: 'repo id' | 'file name' | 'revision' | 'etag' | 'commit hash' | 'repo type'
  value: string
  reason: string
  message: string
}> {}

export function invalidName(kind: InvalidHubNameError['kind'], value: string, reason: string, hint?: string): InvalidHubNameError {
  const shown = JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value)
  const from = kind === 'etag' || kind === 'commit hash' ? ' (sent by the server)' : ''
  const fix =
    hint ??
    (kind === 'repo id'
      ? "Use 'name' or 'org/name' with letters, digits, '-', '_' and '.' (as on huggingface.co)."
      : kind === 'etag' || kind === 'commit hash'
        ? 'Refusing to use it as a file name in the cache; check HF_ENDPOINT points at a Hugging Face hub.'
        : 'Use a relative path inside the repository with forward slashes.')
  return new InvalidHubNameError({ kind, value, reason, message: `Invalid ${kind} ${shown}${from}: ${reason}. ${fix}` })
}

/** 404 with X-Error-Code RepoNotFound (or 401 without a more specific code: the hub hides private repos). */
export class RepoNotFoundError extends Data.TaggedError('RepoNotFoundError')<
  HubTarget & { status: number; url: string; message: string }
> {}

/** 404 with X-Error-Code RevisionNotFound. */
export class RevisionNotFoundError extends Data.TaggedError('RevisionNotFoundError')<
  HubTarget & { status: number; url: string; message: string }
> {}

/** 404 with X-Error-Code EntryNotFound (or a 404 without a code on a resolve URL). */
export class EntryNotFoundError extends Data.TaggedError('EntryNotFoundError')<
  HubTarget & { status: number; url: string; message: string }
> {}

/** 401/403 for a gated or private repository. */
export class HubAccessError extends Data.TaggedError('HubAccessError')<
  HubTarget & { status: number; url: string; code: string | undefined; tokenSent: boolean; message: string }
> {}

/** Any other HTTP status (5xx, 429, unexpected 4xx). */
export class HubHttpError extends Data.TaggedError('HubHttpError')<
  HubTarget & { status: number; url: string; message: string }
> {}

/** Connection refused, DNS failure, timeout, or a connection cut mid-download. */
export class HubNetworkError extends Data.TaggedError('HubNetworkError')<
  HubTarget & { url: string; code: string; detail: string; message: string }
> {}

/** The file is needed from the cache (offline mode, or the hub is unreachable) but is not there. */
export class NotInCacheError extends Data.TaggedError('NotInCacheError')<
  HubTarget & { cacheDir: string; offline: boolean; message: string }
> {}

/** The server's answer lacks what a reproducible download needs (ETag, X-Repo-Commit, size). */
export class HubMetadataError extends Data.TaggedError('HubMetadataError')<
  HubTarget & { url: string; message: string }
> {}

/** The downloaded bytes do not match the expected size or sha256. */
export class ChecksumMismatchError extends Data.TaggedError('ChecksumMismatchError')<
  HubTarget & { check: 'size' | 'sha256'; expected: string; actual: string; message: string }
> {}

/** ENOSPC / EDQUOT while writing into the cache. */
export class DiskFullError extends Data.TaggedError('DiskFullError')<
  HubTarget & { path: string; message: string }
> {}

/** Another process holds the download lock (only raised when a wait limit was set) or a repo is busy. */
export class HubLockError extends Data.TaggedError('HubLockError')<{ lockPath: string; holder: string; message: string }> {}

/** A dataset has no parquet files for the requested config and split. */
export class DatasetSplitNotFoundError extends Data.TaggedError('DatasetSplitNotFoundError')<{
  repo: string
  config: string
  split: string
  revision: string
  available: string[]
  message: string
}> {}

export type HubError =
  | InvalidHubNameError
  | RepoNotFoundError
  | RevisionNotFoundError
  | EntryNotFoundError
  | HubAccessError
  | HubHttpError
  | HubNetworkError
  | NotInCacheError
  | HubMetadataError
  | ChecksumMismatchError
  | DiskFullError
  | HubLockError
  | DatasetSplitNotFoundError

const hubTags = new Set([
  'InvalidHubNameError',
  'RepoNotFoundError',
  'RevisionNotFoundError',
  'EntryNotFoundError',
  'HubAccessError',
  'HubHttpError',
  'HubNetworkError',
  'NotInCacheError',
  'HubMetadataError',
  'ChecksumMismatchError',
  'DiskFullError',
  'HubLockError',
  'DatasetSplitNotFoundError',
])

export function isHubError(e: unknown): e is HubError {
  return typeof e === 'object' && e !== null && hubTags.has((e as { _tag?: string })._tag ?? '')
}

/** Builds the error for a non-2xx answer, following the hub's X-Error-Code header like huggingface_hub. */
export function httpStatusError(
  t: HubTarget,
  status: number,
  url: string,
  errorCode: string | undefined,
  errorMessage: string | undefined,
  tokenSent: boolean,
): RepoNotFoundError | RevisionNotFoundError | EntryNotFoundError | HubAccessError | HubHttpError {
  const w = where(t)
  // A server may echo the request (its Authorization header included) in its error text.
  const server = errorMessage ? ` The hub says: ${redact(errorMessage).slice(0, 300)}` : ''
  const page = pageUrl(url, t)
  if (errorCode === 'RevisionNotFound')
    return new RevisionNotFoundError({
      ...t,
      status,
      url,
      message: `Revision not found (${status}) for ${w}. Check the branch, tag or commit name.${server}`,
    })
  if (errorCode === 'EntryNotFound')
    return new EntryNotFoundError({
      ...t,
      status,
      url,
      message: `File not found (${status}): ${w}. Check the file name (see the 'Files' tab of ${page}).${server}`,
    })
  if (errorCode === 'GatedRepo' || status === 403 || (status === 401 && errorCode !== 'RepoNotFound')) {
    const tokenHint = tokenSent
      ? 'Your token was sent: accept the terms / request access on the repository page, or check that the token has read access.'
      : 'No token was sent: set HF_TOKEN (or log in so that $HF_HOME/token exists), and accept the terms on the repository page.'
    return new HubAccessError({
      ...t,
      status,
      url,
      code: errorCode,
      tokenSent,
      message: `Access denied (${status}${errorCode ? ` ${errorCode}` : ''}) to ${w}: the repository is gated or private. ${tokenHint} Page: ${page}.${server}`,
    })
  }
  if (errorCode === 'RepoNotFound' || status === 401)
    return new RepoNotFoundError({
      ...t,
      status,
      url,
      message: `Repository not found (${status}): ${t.repoType} '${t.repo}'. Check the repo id${t.repoType === 'model' ? " (datasets need repoType 'dataset')" : ''}; if it is private, set HF_TOKEN.${server}`,
    })
  if (status === 404)
    return new EntryNotFoundError({
      ...t,
      status,
      url,
      message: `Not found (404): ${w}. Check the repo id and file name.${server}`,
    })
  const retry = status >= 500 || status === 429 ? ' The hub may be down or rate-limiting: retry later, or use the cache (HF_HUB_OFFLINE=1).' : ''
  return new HubHttpError({ ...t, status, url, message: `HTTP ${status} for ${w} (${url}).${retry}${server}` })
}

function pageUrl(url: string, t: HubTarget): string {
  try {
    const u = new URL(url)
    return `${u.origin}/${t.repoType === 'dataset' ? 'datasets/' : t.repoType === 'space' ? 'spaces/' : ''}${t.repo}`
  } catch {
    return t.repo
  }
}

export function networkError(
  t: HubTarget,
  url: string,
  code: string,
  detail: string,
  situation: 'metadata' | 'uncached' | 'interrupted',
): HubNetworkError {
  const fix =
    situation === 'interrupted'
      ? 'The part already downloaded is kept: run again to resume.'
      : situation === 'uncached'
        ? `The file is not in the cache either. Check your connection or HF_ENDPOINT and run again. ${withoutTheHub(t)}`
        : `Check your connection or HF_ENDPOINT; cached files are used when the hub is unreachable. ${withoutTheHub(t)}`
  return new HubNetworkError({ ...t, url, code, detail: redact(detail), message: `Network error (${code}) for ${where(t)} at ${url}: ${redact(detail)}. ${fix}` })
}

export function notInCache(t: HubTarget, cacheDir: string, offline: boolean, cause?: string): NotInCacheError {
  const why = offline
    ? `offline mode is on (HF_HUB_OFFLINE=1 or localFilesOnly), so the hub was not contacted. Unset HF_HUB_OFFLINE and run once online to fetch it, or use local files: ${localFiles(t)}.`
    : `the hub could not be reached${cause ? ` (${cause})` : ''}. Check your connection or HF_ENDPOINT, then run again to fetch it. ${withoutTheHub(t)}`
  return new NotInCacheError({ ...t, cacheDir, offline, message: `${capitalize(where(t))} is not in the cache (${cacheDir}) and ${why}` })
}

export function metadataError(t: HubTarget, url: string, what: string): HubMetadataError {
  return new HubMetadataError({
    ...t,
    url,
    message: `The server's answer for ${where(t)} (${url}) has no ${what}; it does not look like a Hugging Face hub. Check HF_ENDPOINT and any proxy or firewall in between.`,
  })
}

export function checksumMismatch(t: HubTarget, check: 'size' | 'sha256', expected: string, actual: string): ChecksumMismatchError {
  return new ChecksumMismatchError({
    ...t,
    check,
    expected,
    actual,
    message: `Downloaded ${where(t)} is corrupt: ${check} is ${actual}, expected ${expected}. The partial file was deleted; run again to download it afresh.`,
  })
}

export function diskFull(t: HubTarget, path: string): DiskFullError {
  return new DiskFullError({
    ...t,
    path,
    message: `No space left on the device while writing ${where(t)} to ${path}. Free disk space (e.g. 'lorapipe cache rm <repo>') or set HF_HUB_CACHE to a larger disk.`,
  })
}

/** The two ways to work where the hub cannot be reached, for the kind of repository at hand. */
function withoutTheHub(t: HubTarget): string {
  return `To work without the hub: use local files (${localFiles(t)}), or set HF_HUB_OFFLINE=1 with a cache that already holds the files (filled once where the hub is reachable; HF_HUB_CACHE says where it is).`
}

function localFiles(t: HubTarget): string {
  return t.repoType === 'dataset'
    ? 'data files with `--set dataset.train.path=FILE` and `--set dataset.eval.path=FILE`'
    : 'a model folder with `--set model.path=DIR`, or `lorapipe predict --model DIR`'
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
