// Every file lorapipe writes appears whole or not at all: write a temporary file beside the
// target, flush it to disk, then rename (atomic on POSIX within one file system).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** Writes and flushes a file (not atomic by itself: for files inside a folder that is renamed into place). */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  const fd = openSync(file, 'w')
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    let off = 0
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  mkdirSync(dirname(target), { recursive: true })
  const tmp = tempPathFor(target)
  try {
    writeFileSynced(tmp, data)
    renameSync(tmp, target)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n')
}

/** True for the temporary files above, so a reader (or a test) can tell leftovers apart. */
export function isTempFile(name: string): boolean {
  return /^\..+\.tmp-\d+-[0-9a-f]{8}$/.test(name)
}
