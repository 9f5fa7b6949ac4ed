// Reading a small file that the queue code depends on (a password file, a sweep folder's
// sweep.json): opened without blocking and read only when it is a regular file within a size
// limit, so a FIFO, a device or a huge file cannot hang or swamp a coordinator or a worker.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import * as Data from 'effect/Data'

export class RegularFileError extends Data.TaggedError('RegularFileError')<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'a loop of symbolic links',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
}

/** The bytes of `path`; throws RegularFileError when it is missing, not a regular file, or over `maxBytes`. */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? ''
    throw new RegularFileError({ path, reason: ERRNO_WORDS[code] ?? (e as Error).message })
  }
  try {
    const st = fstatSync(fd)
    if (st.isDirectory()) throw new RegularFileError({ path, reason: 'it is a folder, not a file' })
    if (!st.isFile()) throw new RegularFileError({ path, reason: 'not a regular file (a device, FIFO or socket)' })
    if (st.size > maxBytes) throw new RegularFileError({ path, reason: `${st.size} bytes, over the limit of ${maxBytes}` })
    const buf = Buffer.alloc(st.size)
    let off = 0
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off)
      if (n === 0) break
      off += n
    }
    return buf.subarray(0, off)
  } catch (e) {
    if (e instanceof RegularFileError) throw e
    throw new RegularFileError({ path, reason: ERRNO_WORDS[(e as NodeJS.ErrnoException).code ?? ''] ?? (e as Error).message })
  } finally {
    closeSync(fd)
  }
}
