// Listing a repository's files (hub API, or the cached snapshot when offline) and downloading a
// whole snapshot, like huggingface_hub's list_repo_files / snapshot_download.
import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { readRef, repoPaths, writeRef } from './cache-layout.ts'
import { downloadWithEnv, type CachedFile, type DownloadOptions, type HubOptions } from './download.ts'
import { DEFAULT_REVISION, resolveHubEnv, type HubEnv } from './env.ts'
import {
  HubHttpError,
  HubMetadataError,
  HubNetworkError,
  httpStatusError,
  metadataError,
  networkError,
  notInCache,
  type HubTarget,
} from './errors.ts'
import { asNetworkFailure, header, httpRequest, readBody } from './http.ts'
import { COMMIT_HASH, quoteAll, validateCommitHash, validateFilename, validateRepoId, validateRepoType, validateRevision } from './names.ts'

export interface RepoListing {
  /** The id the hub reports (canonical: 'nyu-mll/glue' for the alias 'glue'); the requested id when listed from the cache. */
  repoId: string
  /** The id as passed: cache folders are named after it, as in huggingface_hub. */
  requestedId: string
  repoType: HubTarget['repoType']
  revision: string
  commitHash: string
  /** File paths in the repo, sorted. From the cache: only the files downloaded so far. */
  files: string[]
  source: 'hub' | 'cache'
}

function target(repoId: string, opts: HubOptions): HubTarget {
  const repoType = validateRepoType(opts.repoType ?? 'model')
  validateRepoId(repoId)
  return { repo: repoId, repoType, revision: validateRevision(opts.revision ?? DEFAULT_REVISION) }
}

/** Files of a repo at a revision: `{endpoint}/api/{models|datasets}/{id}/revision/{rev}` (siblings, sha). */
export async function listRepoFiles(repoId: string, opts: HubOptions = {}): Promise<RepoListing> {
  const t = target(repoId, opts)
  const env = resolveHubEnv(opts, opts.env)
  return listWithEnv(env, t, opts)
}

async function listWithEnv(env: HubEnv, t: HubTarget, opts: HubOptions): Promise<RepoListing> {
  if (env.offline) return listFromCache(env, t, undefined, opts)
  try {
    return await listFromHub(env, t, opts)
  } catch (e) {
    if (e instanceof HubNetworkError || e instanceof HubHttpError || e instanceof HubMetadataError) return listFromCache(env, t, e, opts)
    throw e
  }
}

async function listFromHub(env: HubEnv, t: HubTarget, opts: HubOptions): Promise<RepoListing> {
  const url = `${env.endpoint}/api/${t.repoType}s/${t.repo}/revision/${quoteAll(t.revision)}`
  let res
  try {
    res = await httpRequest({ url, method: 'GET', token: env.token, follow: 'all', timeoutMs: 10_000, signal: opts.signal })
  } catch (e) {
    const nf = asNetworkFailure(e)
    if (nf) throw networkError(t, url, nf.code, nf.message, 'metadata')
    throw e
  }
  if (res.status >= 400) {
    res.body.resume()
    throw httpStatusError(t, res.status, res.url, header(res.headers, 'x-error-code'), header(res.headers, 'x-error-message'), res.tokenSent)
  }
  let info: { id?: unknown; sha?: unknown; siblings?: unknown }
  try {
    info = JSON.parse((await readBody(res.body)).toString('utf8')) as typeof info
  } catch (e) {
    const nf = asNetworkFailure(e)
    if (nf) throw networkError(t, url, nf.code, nf.message, 'metadata')
    throw metadataError(t, url, 'valid JSON body')
  }
  if (typeof info.sha !== 'string') throw metadataError(t, url, "'sha' field")
  const commitHash = validateCommitHash(info.sha)
  if (!Array.isArray(info.siblings)) throw metadataError(t, url, "'siblings' list")
  const files: string[] = []
  for (const s of info.siblings as { rfilename?: unknown }[]) {
    const name = s?.rfilename
    if (typeof name !== 'string') continue
    try {
      files.push(validateFilename(name))
    } catch (e) {
      opts.onEvent?.({ type: 'warning', repo: t.repo, message: `Ignoring a file of ${t.repo} with an unsafe name: ${(e as Error).message}` })
    }
  }
  files.sort()
  const repoId = typeof info.id === 'string' ? info.id : t.repo
  return { repoId, requestedId: t.repo, repoType: t.repoType, revision: t.revision, commitHash, files, source: 'hub' }
}

function listFromCache(env: HubEnv, t: HubTarget, cause: Error | undefined, opts: HubOptions): RepoListing {
  const paths = repoPaths(env.cacheDir, t.repo, t.repoType)
  const commit = COMMIT_HASH.test(t.revision) ? t.revision : readRef(paths, t.revision)
  const dir = commit ? join(paths.storage, 'snapshots', commit) : undefined
  const files = dir ? walkSnapshot(dir) : undefined
  if (!commit || !files) {
    if (cause && !(cause instanceof HubNetworkError)) throw cause
    throw notInCache(t, env.cacheDir, cause === undefined, cause instanceof HubNetworkError ? cause.code : undefined)
  }
  if (cause)
    opts.onEvent?.({
      type: 'warning',
      repo: t.repo,
      message: `Could not list ${t.repo} on the hub (${cause.message.split('\n')[0]}); listing the cached snapshot ${commit.slice(0, 12)} (only files downloaded before).`,
    })
  return { repoId: t.repo, requestedId: t.repo, repoType: t.repoType, revision: t.revision, commitHash: commit, files, source: 'cache' }
}

function walkSnapshot(dir: string): string[] | undefined {
  const out: string[] = []
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.includes('.tmp-')) continue
      const p = join(d, name)
      const st = lstatSync(p)
      if (st.isDirectory()) walk(p, `${prefix}${name}/`)
      else out.push(`${prefix}${name}`)
    }
  }
  try {
    walk(dir, '')
  } catch {
    return undefined
  }
  return out.sort()
}

/** fnmatch-style patterns as huggingface_hub's filter_repo_objects: '*' also matches '/', a trailing '/' means the whole folder. */
export function matchesPattern(path: string, pattern: string): boolean {
  const p = pattern.endsWith('/') ? `${pattern}*` : pattern
  let re = '^'
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const j = p.indexOf(']', i + 1)
      if (j < 0) re += '\\['
      else {
        let body = p.slice(i + 1, j).replace(/\\/g, '\\\\')
        if (body.startsWith('!')) body = '^' + body.slice(1)
        re += `[${body}]`
        i = j
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(re + '$', 's').test(path)
}

export interface SnapshotOptions extends DownloadOptions {
  allowPatterns?: string[] | undefined
  ignorePatterns?: string[] | undefined
}

export interface Snapshot {
  /** snapshots/<commit>: the folder to read the repo from. */
  path: string
  repoId: string
  commitHash: string
  files: CachedFile[]
  source: 'hub' | 'cache'
}

/** Downloads every file of a revision (or those matching allowPatterns) into the cache. */
export async function snapshotDownload(repoId: string, opts: SnapshotOptions = {}): Promise<Snapshot> {
  const t = target(repoId, opts)
  const env = resolveHubEnv(opts, opts.env)
  const listing = await listWithEnv(env, t, opts)
  const paths = repoPaths(env.cacheDir, t.repo, t.repoType)
  const wanted = listing.files.filter(
    (f) =>
      (!opts.allowPatterns || opts.allowPatterns.some((p) => matchesPattern(f, p))) &&
      !(opts.ignorePatterns ?? []).some((p) => matchesPattern(f, p)),
  )
  if (listing.source === 'hub') writeRef(paths, t.revision, listing.commitHash)
  const files: CachedFile[] = []
  for (const f of wanted) {
    // By commit hash, as huggingface_hub does, so every file comes from the same commit.
    const got = await downloadWithEnv(env, { ...t, revision: listing.commitHash, file: f }, opts)
    files.push({ ...got, revision: t.revision })
  }
  return {
    path: join(paths.storage, 'snapshots', listing.commitHash),
    repoId: t.repo,
    commitHash: listing.commitHash,
    files,
    source: listing.source,
  }
}
