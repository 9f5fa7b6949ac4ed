// Appending whole lines to a log file (events.jsonl) that a crash, a kill or a full disk may cut
// short. A line is there whole or not at all: an append that fails is cut back off, and a line
// torn by a kill is cut off before the next append, so that a new line never glues onto half of
// an old one. Write errors name the file (Node's `write` errors name no path).
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs'

/** Runs a write of `path`; a failure that names no path (write, fsync) is given it, so every message can say which file. */
export function writingFile<T>(path: string, write: () => T): T {
  try {
    return write()
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (typeof err === 'object' && err !== null && typeof err.code === 'string' && err.path === undefined) err.path = path
    throw e
  }
}

/** Bytes after the last newline of an open file: the rest of a line cut short. */
function tornTail(fd: number): number {
  const size = fstatSync(fd).size
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024))
  let end = size
  while (end > 0) {
    const start = Math.max(0, end - chunk.length)
    const n = readSync(fd, chunk, 0, end - start, start)
    const nl = chunk.subarray(0, n).lastIndexOf(0x0a)
    if (nl >= 0) return size - (start + nl + 1)
    end = start
  }
  return size
}

/**
 * An appender of lines to `file`. Nothing is touched until the first append (so a process that is
 * refused the folder writes nothing); that one first cuts off a torn last line. Each call appends
 * one whole line (`text` has no newline; one is added) or throws with the file named, leaving the
 * file as it was.
 */
export function lineAppender(file: string): (text: string) => void {
  let first = true
  return (text) =>
    writingFile(file, () => {
      const fd = openSync(file, 'a+')
      try {
        if (first) {
          const torn = tornTail(fd)
          if (torn > 0) ftruncateSync(fd, fstatSync(fd).size - torn)
          first = false
        }
        // Half a line would glue onto the next one: it is cut off (a torn line left by a failed cut is skipped by readers and cut by the next appender).
        appendWhole(fd, Buffer.from(text + '\n', 'utf8'))
      } finally {
        closeSync(fd)
      }
    })
}

/**
 * Appends `buf` to the open file `fd` whole, or cuts the file back to where it was and throws
 * (truncating frees space, so it works on a full disk; if even that fails, the torn tail stays for
 * the reader to skip).
 */
export function appendWhole(fd: number, buf: Buffer): void {
  const before = fstatSync(fd).size
  try {
    let off = 0
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off)
  } catch (e) {
    try {
      ftruncateSync(fd, before)
    } catch {
      // left torn: see above
    }
    throw e
  }
}
