// `lorapipe cache ls` / `cache rm`: what is in the cache and removing a repo, like
// `huggingface-cli scan-cache` (scan_cache_dir) and `delete-cache`. Sizes count each blob once,
// however many snapshots point at it.
import { lstatSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, type Stats } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { repoPaths } from './cache-layout.ts'
import { resolveHubEnv } from './env.ts'
import { HubLockError, type RepoType } from './errors.ts'
import { lockIsLive } from './lock.ts'
import { parseRepoFolderName, validateRepoId, validateRepoType } from './names.ts'

export interface CachedRevision {
  commitHash: string
  /** snapshots/<commit> */
  path: string
  /** Branches/tags pointing at this commit. */
  refs: string[]
  files: { name: string; blobPath: string; size: number }[]
  /** Sum of the distinct blobs of this revision. */
  sizeOnDisk: number
  lastModified: Date
}

export interface CachedRepo {
  repoId: string
  repoType: RepoType
  path: string
  /** Distinct blobs referenced by any snapshot. */
  sizeOnDisk: number
  nbFiles: number
  /** Bytes in blobs/*.incomplete (interrupted downloads, resumable). */
  incompleteBytes: number
  /** ref name -> commit hash */
  refs: Record<string, string>
  revisions: CachedRevision[]
  lastModified: Date
  lastAccessed: Date
}

export interface CacheScan {
  cacheDir: string
  repos: CachedRepo[]
  sizeOnDisk: number
  /** Folders or files that do not look like the cache layout (reported, never deleted). */
  warnings: string[]
}

function listDir(p: string): string[] {
  try {
    return readdirSync(p).sort()
  } catch {
    return []
  }
}

function readRefs(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of listDir(dir)) {
    const p = join(dir, name)
    let st: Stats
    try {
      st = lstatSync(p)
    } catch {
      continue
    }
    if (st.isDirectory()) Object.assign(out, readRefs(p, `${prefix}${name}/`))
    else if (st.isFile() && !name.includes('.tmp-')) out[`${prefix}${name}`] = readFileSync(p, 'utf8').trim()
  }
  return out
}

function scanRepo(cacheDir: string, folder: string, warnings: string[]): CachedRepo | undefined {
  const parsed = parseRepoFolderName(folder)
  const path = join(cacheDir, folder)
  if (!parsed) {
    warnings.push(`${path}: not a repo folder (expected models--*, datasets--* or spaces--*)`)
    return undefined
  }
  const refs = readRefs(join(path, 'refs'))
  const byCommit = new Map<string, string[]>()
  for (const [ref, commit] of Object.entries(refs)) byCommit.set(commit, [...(byCommit.get(commit) ?? []), ref])

  const blobs = new Map<string, Stats>()
  const revisions: CachedRevision[] = []
  const snapshots = join(path, 'snapshots')
  for (const commit of listDir(snapshots)) {
    const dir = join(snapshots, commit)
    const files: CachedRevision['files'] = []
    const revBlobs = new Map<string, number>()
    const walk = (d: string) => {
      for (const name of listDir(d)) {
        if (name.includes('.tmp-')) continue
        const p = join(d, name)
        let st: Stats
        try {
          st = lstatSync(p)
        } catch {
          continue
        }
        if (st.isDirectory()) {
          walk(p)
          continue
        }
        let blob: string
        let bst: Stats
        try {
          blob = realpathSync(p)
          bst = statSync(blob)
        } catch {
          warnings.push(`${p}: dangling pointer (its blob is missing)`)
          continue
        }
        blobs.set(blob, bst)
        revBlobs.set(blob, bst.size)
        files.push({ name: relative(dir, p).split(sep).join('/'), blobPath: blob, size: bst.size })
      }
    }
    walk(dir)
    let mtime = new Date(0)
    try {
      mtime = statSync(dir).mtime
    } catch {
      // vanished while scanning
    }
    revisions.push({
      commitHash: commit,
      path: dir,
      refs: (byCommit.get(commit) ?? []).sort(),
      files,
      sizeOnDisk: [...revBlobs.values()].reduce((a, b) => a + b, 0),
      lastModified: mtime,
    })
  }
  let incompleteBytes = 0
  for (const name of listDir(join(path, 'blobs'))) {
    if (!name.endsWith('.incomplete')) continue
    try {
      incompleteBytes += statSync(join(path, 'blobs', name)).size
    } catch {
      // finished meanwhile
    }
  }
  const stats = [...blobs.values()]
  let folderTime = new Date(0)
  try {
    folderTime = statSync(path).mtime
  } catch {
    // ignore
  }
  return {
    repoId: parsed.repoId,
    repoType: parsed.repoType,
    path,
    sizeOnDisk: stats.reduce((a, s) => a + s.size, 0),
    nbFiles: stats.length,
    incompleteBytes,
    refs,
    revisions,
    lastModified: stats.length > 0 ? new Date(Math.max(...stats.map((s) => s.mtimeMs))) : folderTime,
    lastAccessed: stats.length > 0 ? new Date(Math.max(...stats.map((s) => s.atimeMs))) : folderTime,
  }
}

/** Everything in the cache (HF_HUB_CACHE unless `cacheDir` is given), largest repos first. */
export function scanCache(opts: { cacheDir?: string; env?: NodeJS.ProcessEnv } = {}): CacheScan {
  const cacheDir = resolveHubEnv({ cacheDir: opts.cacheDir }, opts.env).cacheDir
  const warnings: string[] = []
  const repos: CachedRepo[] = []
  for (const folder of listDir(cacheDir)) {
    if (folder.startsWith('.')) continue // .locks and friends
    let st: Stats
    try {
      st = lstatSync(join(cacheDir, folder))
    } catch {
      continue
    }
    if (!st.isDirectory()) {
      warnings.push(`${join(cacheDir, folder)}: unexpected file in the cache folder`)
      continue
    }
    const repo = scanRepo(cacheDir, folder, warnings)
    if (repo) repos.push(repo)
  }
  repos.sort((a, b) => b.sizeOnDisk - a.sizeOnDisk || a.repoId.localeCompare(b.repoId))
  return { cacheDir, repos, sizeOnDisk: repos.reduce((a, r) => a + r.sizeOnDisk, 0), warnings }
}

export interface DeletedRepo {
  repoId: string
  repoType: RepoType
  path: string
  deleted: boolean
  /** Bytes freed (blobs and partial downloads). */
  freedBytes: number
}

function folderBytes(p: string): number {
  let n = 0
  for (const name of listDir(p)) {
    const q = join(p, name)
    try {
      const st = lstatSync(q)
      if (st.isDirectory()) n += folderBytes(q)
      else if (st.isFile()) n += st.size
    } catch {
      // ignore
    }
  }
  return n
}

/**
 * Removes a repo's folder (and its lock folder) from the cache. Refuses while another process is
 * downloading into it. Returns deleted: false when it was not cached.
 */
export function deleteRepo(repoId: string, repoType: RepoType = 'model', opts: { cacheDir?: string; env?: NodeJS.ProcessEnv } = {}): DeletedRepo {
  validateRepoId(repoId)
  validateRepoType(repoType)
  const cacheDir = resolveHubEnv({ cacheDir: opts.cacheDir }, opts.env).cacheDir
  const paths = repoPaths(cacheDir, repoId, repoType)
  // validateRepoId makes this impossible; checked again because this is an rm -rf.
  if (relative(cacheDir, paths.storage).split(sep).length !== 1 || relative(cacheDir, paths.storage).startsWith('..'))
    throw new Error(`refusing to delete ${paths.storage}: not directly inside ${cacheDir}`)
  let st: Stats
  try {
    st = lstatSync(paths.storage)
  } catch {
    return { repoId, repoType, path: paths.storage, deleted: false, freedBytes: 0 }
  }
  for (const name of listDir(paths.locks)) {
    const holder = lockIsLive(join(paths.locks, name))
    if (holder)
      throw new HubLockError({
        lockPath: join(paths.locks, name),
        holder,
        message: `Not deleting ${repoType} '${repoId}': ${holder} is downloading into it. Wait for it to finish (or stop it), then run the command again.`,
      })
  }
  // A symlinked repo folder is unlinked, never followed.
  const freedBytes = st.isDirectory() ? folderBytes(join(paths.storage, 'blobs')) : 0
  rmSync(paths.storage, { recursive: true, force: true })
  rmSync(paths.locks, { recursive: true, force: true })
  return { repoId, repoType, path: paths.storage, deleted: true, freedBytes }
}
