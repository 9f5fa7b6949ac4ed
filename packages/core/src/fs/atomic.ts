// Every file lorapipe writes appears whole or not at all: write a temporary file beside the
// target, flush it to disk, then rename (atomic on POSIX within one file system).
// A rename replaces whatever directory entry is at the target, a device node or a FIFO included,
// so the writer first looks at what is there and refuses anything that is not a regular file.
// A symbolic link is followed: the file it points to is replaced and the link stays.
import { closeSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import * as Data from 'effect/Data'
import { writingFile } from './append-lines.ts'
import { makeFolder } from './make-folder.ts'
import { redact } from '../text/redact.ts'

/** The target of a write is something lorapipe must not replace (a folder, a device, a FIFO, a socket). */
export class NotARegularFile extends Data.TaggedError('NotARegularFile')<{
  readonly path: string
  /** What is there, in words: "folder", "character device", ... */
  readonly kind: string
  /** The symbolic link the user named, when `path` is where it points. */
  readonly via?: string | undefined
}> {
  override get message(): string {
    const via = this.via ? ` (${this.via} is a symbolic link to it)` : ''
    return `${this.path} is a ${this.kind}${via}, not a regular file; lorapipe writes only regular files and left it untouched`
  }
  get hint(): string {
    return this.kind === 'folder' ? 'name a file, e.g. a path that ends in the file name' : 'name a regular file (or a path that does not exist yet)'
  }
}

/** What is at a path, in words ("folder", "FIFO (named pipe)", ...); undefined for a regular file. */
export function kindOf(st: Stats): string | undefined {
  if (st.isFile()) return undefined
  if (st.isDirectory()) return 'folder'
  if (st.isCharacterDevice()) return 'character device'
  if (st.isBlockDevice()) return 'block device'
  if (st.isFIFO()) return 'FIFO (named pipe)'
  if (st.isSocket()) return 'socket'
  return 'special file'
}

/**
 * Where a write to `target` must go: `target` itself, or the file a symbolic link there points to.
 * Throws NotARegularFile when something other than a regular file is in the way.
 */
export function writableTarget(target: string): string {
  const abs = resolve(target)
  let st: Stats
  try {
    st = lstatSync(abs)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return abs
    throw e
  }
  if (!st.isSymbolicLink()) {
    const kind = kindOf(st)
    if (kind) throw new NotARegularFile({ path: abs, kind })
    return abs
  }
  let real: string
  try {
    real = realpathSync(abs)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ELOOP') throw new NotARegularFile({ path: abs, kind: 'symbolic link that leads nowhere' })
    throw e
  }
  const kind = kindOf(statSync(real))
  if (kind) throw new NotARegularFile({ path: real, kind, via: abs })
  return real
}

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** Writes and flushes a file (not atomic by itself: for files inside a folder that is renamed into place). Errors name the file. */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  writingFile(file, () => {
    const fd = openSync(file, 'w')
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
      let off = 0
      while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  })
}

/** Writes `target` whole or not at all. Throws NotARegularFile rather than replace anything but a regular file. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const file = writableTarget(target)
  makeFolder(dirname(file))
  const tmp = tempPathFor(file)
  try {
    // Text files (config.resolved.yaml, manifests, reports) never hold a secret: see redact.ts.
    writeFileSynced(tmp, typeof data === 'string' ? redact(data) : data)
    // Looked at again just before the rename: something may have appeared while we wrote.
    writableTarget(file)
    renameSync(tmp, file)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n')
}

/**
 * True for lorapipe's temporary names: the files above (`.name.tmp-<pid>-<hex>`) and folders
 * written the same way (`name.tmp-<pid>-<hex>`, `.step-N.tmp-<pid>-<hex>`), so leftovers of a
 * killed process can be told apart from anything else.
 */
export function isTempFile(name: string): boolean {
  return /^.+\.tmp-\d+-[0-9a-f]{8}$/.test(name)
}

/** The file a temporary file was being written for (its own path for any other name), for messages. */
export function targetOfTemp(path: string): string {
  return path.replace(/(^|\/)\.([^/]+)\.tmp-\d+-[0-9a-f]{8}$/, '$1$2')
}

/** The process that made a temporary name (its pid), or undefined for any other name. */
export function tempFileOwner(name: string): number | undefined {
  const m = /\.tmp-(\d+)-[0-9a-f]{8}$/.exec(name)
  return m && isTempFile(name) ? Number(m[1]) : undefined
}
