// Names that become paths in the cache: repo ids, file names, revisions, and the ETag / commit
// hash the server sends. Everything is checked before it touches the disk, so neither a pipeline
// nor a hostile server can make the client write outside the cache folder.
import { invalidName, type RepoType } from './errors.ts'

// huggingface_hub's REPO_ID_REGEX (validate_repo_id), ASCII only: an optional namespace and a
// name of 1-96 chars from [A-Za-z0-9_.-], each starting and ending with a word character.
const REPO_ID = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\/)?[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/

/** A full commit hash, as huggingface_hub's REGEX_COMMIT_HASH. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/
/** A sha256 hex digest: the ETag of LFS files is the sha256 of their content. */
export const SHA256 = /^[0-9a-f]{64}$/

export const REPO_TYPES: readonly RepoType[] = ['model', 'dataset', 'space']

export function validateRepoType(t: string): RepoType {
  if ((REPO_TYPES as readonly string[]).includes(t)) return t as RepoType
  throw invalidName('repo type', t, `expected one of ${REPO_TYPES.join(', ')}`, "Use 'model' or 'dataset'.")
}

/** Checks a repo id like huggingface_hub's validate_repo_id. */
export function validateRepoId(id: string): string {
  if (typeof id !== 'string' || id.length === 0) throw invalidName('repo id', String(id), 'it is empty')
  if (id.split('/').length > 2) throw invalidName('repo id', id, "it has more than one '/' (datasets are chosen with repoType, not a 'datasets/' prefix)")
  if (!REPO_ID.test(id)) throw invalidName('repo id', id, "it must be 'name' or 'org/name' using letters, digits, '-', '_', '.', not starting or ending with '-' or '.', at most 96 characters")
  if (id.includes('--') || id.includes('..')) throw invalidName('repo id', id, "it cannot contain '--' or '..'")
  if (id.endsWith('.git')) throw invalidName('repo id', id, "it cannot end with '.git'")
  return id
}

// A relative path of safe segments: used for file names and for branch names (refs/<revision>
// is a path in the cache, and revisions such as 'refs/convert/parquet' contain slashes).
function pathProblem(p: string): string | undefined {
  if (p.length === 0) return 'it is empty'
  if (p.length > 4096) return 'it is too long'
  if (p.includes('\\')) return 'it contains a backslash'
  if (p.startsWith('/')) return 'it is an absolute path'
  if (/^[A-Za-z]:/.test(p)) return 'it starts with a drive letter'
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'it contains a control character'
  for (const seg of p.split('/')) {
    if (seg === '') return "it has an empty path segment ('//' or a trailing '/')"
    if (seg === '.' || seg === '..') return `it has a '${seg}' path segment`
    if (seg.length > 255) return 'a path segment is longer than 255 characters'
  }
  return undefined
}

/** A file path inside a repository: relative, forward slashes, no '.'/'..' segments. */
export function validateFilename(name: string): string {
  const problem = typeof name === 'string' ? pathProblem(name) : 'it is not a string'
  if (problem) throw invalidName('file name', String(name), problem)
  return name
}

/** A branch, tag or commit; it names a file under refs/ so it gets the same checks as a path. */
export function validateRevision(rev: string): string {
  const problem = typeof rev === 'string' ? pathProblem(rev) : 'it is not a string'
  if (problem) throw invalidName('revision', String(rev), problem, "Use a branch, tag or commit hash such as 'main'.")
  if (rev.endsWith('.lock')) throw invalidName('revision', rev, "it ends with '.lock'", "Use a branch, tag or commit hash such as 'main'.")
  return rev
}

/** huggingface_hub's _normalize_etag: drop a weak 'W/' prefix and the quotes. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '')
}

// An ETag becomes blobs/<etag> (and <etag>.incomplete, .locks/.../<etag>.lock): one plain segment.
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$/

export function validateEtag(etag: string): string {
  if (!SAFE_SEGMENT.test(etag) || etag.endsWith('.incomplete') || etag.endsWith('.lock'))
    throw invalidName('etag', etag, 'it is not a plain file name of letters, digits, dots, dashes and underscores')
  return etag
}

/** X-Repo-Commit becomes snapshots/<commit>; the hub sends 40-hex git hashes. */
export function validateCommitHash(commit: string): string {
  if (!SAFE_SEGMENT.test(commit)) throw invalidName('commit hash', commit, 'it is not a plain folder name')
  return commit
}

/** The cache folder of a repo, as huggingface_hub's repo_folder_name: 'models--org--name'. */
export function repoFolderName(repoId: string, repoType: RepoType): string {
  return [`${repoType}s`, ...repoId.split('/')].join('--')
}

/** Inverse of repoFolderName, or undefined for folders that are not repos (.locks, stray files). */
export function parseRepoFolderName(folder: string): { repoId: string; repoType: RepoType } | undefined {
  const m = /^(models|datasets|spaces)--(.+)$/.exec(folder)
  if (!m) return undefined
  const repoType = m[1]!.slice(0, -1) as RepoType
  const repoId = m[2]!.replace(/--/g, '/')
  try {
    validateRepoId(repoId)
  } catch {
    return undefined
  }
  return { repoId, repoType }
}

/** The URL prefix of a repo type in resolve URLs (huggingface_hub's REPO_TYPES_URL_PREFIXES). */
export function urlPrefix(repoType: RepoType): string {
  return repoType === 'dataset' ? 'datasets/' : repoType === 'space' ? 'spaces/' : ''
}

/** Python's urllib.parse.quote(s, safe='/'): encodes all but unreserved characters and '/'. */
export function quotePath(s: string): string {
  return s
    .split('/')
    .map((seg) => quoteAll(seg))
    .join('/')
}

/** Python's quote(s, safe=''): revisions such as 'refs/convert/parquet' become 'refs%2Fconvert%2Fparquet'. */
export function quoteAll(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}
