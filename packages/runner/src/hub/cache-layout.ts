// The on-disk layout of huggingface_hub's cache, shared by downloads, listings and `cache ls`:
//   <cache>/<models|datasets|spaces>--<org>--<name>/
//     blobs/<etag>                      file content, named by ETag (git sha1, or sha256 for LFS)
//     blobs/<etag>.incomplete           a download in progress (resumed with a Range request)
//     refs/<revision>                   the commit hash a branch or tag pointed to (no newline)
//     snapshots/<commit>/<file path>    relative symlink to ../../blobs/<etag> (one more '..' per folder)
//     .no_exist/<commit>/<file path>    empty marker: the file is known not to exist at that commit
//   <cache>/.locks/<repo folder>/<etag>.lock
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname, join, relative } from 'node:path'
import type { RepoType } from './errors.ts'
import { repoFolderName, validateCommitHash } from './names.ts'

export interface RepoPaths {
  readonly folder: string
  readonly storage: string
  readonly locks: string
}

export function repoPaths(cacheDir: string, repoId: string, repoType: RepoType): RepoPaths {
  const folder = repoFolderName(repoId, repoType)
  return { folder, storage: join(cacheDir, folder), locks: join(cacheDir, '.locks', folder) }
}

export function blobPath(p: RepoPaths, etag: string): string {
  return join(p.storage, 'blobs', etag)
}

export function pointerPath(p: RepoPaths, commit: string, filename: string): string {
  return join(p.storage, 'snapshots', commit, ...filename.split('/'))
}

export function lockPath(p: RepoPaths, etag: string): string {
  return join(p.locks, `${etag}.lock`)
}

/** The commit a branch/tag pointed to when last seen, or undefined. */
export function readRef(p: RepoPaths, revision: string): string | undefined {
  try {
    const c = readFileSync(join(p.storage, 'refs', ...revision.split('/')), 'utf8').trim()
    return validateCommitHash(c)
  } catch {
    return undefined
  }
}

/** Records revision -> commit like huggingface_hub (only rewritten when it changed; atomically here). */
export function writeRef(p: RepoPaths, revision: string, commit: string): void {
  if (revision === commit) return
  const path = join(p.storage, 'refs', ...revision.split('/'))
  try {
    if (readFileSync(path, 'utf8') === commit) return
  } catch {
    // not there yet
  }
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  writeFileSync(tmp, commit)
  renameSync(tmp, path)
}

/** Size of the file behind a path (following the symlink), or undefined when missing or dangling. */
export function fileSize(path: string): number | undefined {
  try {
    const st = statSync(path)
    return st.isFile() ? st.size : undefined
  } catch {
    return undefined
  }
}

/**
 * Points snapshots/<commit>/<file> at the blob with a relative symlink, replaced atomically so a
 * concurrent reader never sees a missing or half-made pointer. Where symlinks are not allowed
 * (Windows without developer mode) the blob is copied, as huggingface_hub does.
 */
export function linkPointer(blob: string, pointer: string): void {
  const target = relative(dirname(pointer), blob)
  try {
    if (readlinkSync(pointer) === target) return
  } catch {
    // missing, or a regular file
  }
  mkdirSync(dirname(pointer), { recursive: true })
  const tmp = `${pointer}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    symlinkSync(target, tmp)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e
    copyFileSync(blob, tmp)
  }
  try {
    renameSync(tmp, pointer)
  } catch (e) {
    try {
      unlinkSync(tmp)
    } catch {
      // ignore
    }
    throw e
  }
}

/** huggingface_hub caches 404s as empty files under .no_exist/<commit>/<file>. */
export function markNoExist(p: RepoPaths, commit: string, filename: string): void {
  try {
    const path = join(p.storage, '.no_exist', commit, ...filename.split('/'))
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, '')
  } catch {
    // best effort, as in huggingface_hub
  }
}
