// The sweep folder could not be written: the disk is full or over quota, the file system is
// read-only or refuses us, or the device fails. None of that is a trial's fault or the sweep's
// input, so no trial is marked failed for it: the sweep stops where it is (running trials are
// stopped as for Ctrl-C and stay unfinished in the record), says which file and what is saved,
// and `lorapipe sweep --resume` continues once the folder can be written again.
//
// Writes throw Node's errno errors; they are recognised here, at the coordinator's edge and in
// the command, rather than around each write.
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import * as Data from 'effect/Data'
import { targetOfTemp } from '../../fs/atomic.ts'

/** Errno codes that say the file system cannot take a write, in words. */
const STORAGE_ERRNO: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EIO: 'input/output error',
}

export interface StorageFailure {
  readonly code: string
  /** The file or folder that could not be written, when known. */
  readonly path?: string | undefined
}

/** The storage failure an error is (an errno error, or one that wraps it), or undefined. */
export function storageFailure(e: unknown): StorageFailure | undefined {
  for (let x = e, depth = 0; typeof x === 'object' && x !== null && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const err = x as NodeJS.ErrnoException
    if (typeof err.code === 'string' && err.code in STORAGE_ERRNO) return { code: err.code, ...(typeof err.path === 'string' ? { path: targetOfTemp(err.path) } : {}) }
  }
  return undefined
}

/**
 * A storage failure that a trial reported (its process writes its own run folder and says so in
 * its error): a full disk or quota wherever it is named, the others only when the line names the
 * trial's folder (a trial may fail to read a file it was not allowed to; that is the trial's own).
 */
export function storageFailureIn(text: string, trialDir: string): StorageFailure | undefined {
  for (const line of text.split('\n')) {
    const m = /\b(ENOSPC|EDQUOT|EROFS|EACCES|EIO)\b/.exec(line)
    if (!m) continue
    const code = m[1]!
    const at = line.indexOf(trialDir)
    if (code !== 'ENOSPC' && code !== 'EDQUOT' && at < 0) continue
    // The file it names: in the trial's folder, else any (a full cache elsewhere is full too).
    const path = (at >= 0 ? /^[^\s:'",)]+/.exec(line.slice(at)) : /(?<=^|[\s'"])\/[^\s:'",)]+/.exec(line))?.[0]
    return { code, ...(path ? { path: targetOfTemp(path) } : {}) }
  }
  return undefined
}

/** Bytes a failed trial's folder must still take for the failure not to be blamed on a full disk. */
const ROOM_BYTES = 64 * 1024

/**
 * Whether `dir` can still take a write of some size: a trial that failed on a full disk does
 * not always say so (its own message may be what could not be written). A storage failure, or
 * undefined when the write went through (or `dir` is not there to try).
 */
export function noRoomIn(dir: string): StorageFailure | undefined {
  const probe = join(dir, `.room-check-${process.pid}`)
  let fd: number | undefined
  try {
    fd = openSync(probe, 'w')
    const buf = Buffer.alloc(ROOM_BYTES)
    let off = 0
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off)
    fsyncSync(fd)
    return undefined
  } catch (e) {
    const f = storageFailure(e)
    return f ? { code: f.code, path: dir } : undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
    rmSync(probe, { force: true })
  }
}

/** A write of the sweep folder failed for want of space, permission or a working device. */
export class SweepFolderUnwritable extends Data.TaggedError('SweepFolderUnwritable')<{
  /** The sweep folder. */
  readonly dir: string
  /** The file (or folder) that could not be written. */
  readonly path: string
  /** The errno code (ENOSPC...); not `code`, which would make it look like Node's own error. */
  readonly errno: string
  /** How the sweep ended and what is safely saved, in sentences. */
  readonly saved: string
  /** What to run once the folder can be written (default: resume the sweep). */
  readonly next?: string | undefined
}> {
  override get message(): string {
    return `cannot write ${this.path}: ${STORAGE_ERRNO[this.errno] ?? this.errno} (${this.errno}). ${this.saved}`
  }
  get hint(): string {
    const fix = this.errno === 'ENOSPC' || this.errno === 'EDQUOT' ? 'free some space' : this.errno === 'EIO' ? 'check the disk' : `make ${this.dir} writable`
    return `${fix}, then ${this.next ?? `\`lorapipe sweep --resume ${this.dir}\` continues the sweep`}`
  }
}

/** "The sweep stopped; the record (sweep.jsonl) holds ...": what a stopped sweep keeps, from its trials' states. */
export function savedText(trials: readonly { readonly number: number; readonly state: string }[]): string {
  if (trials.length === 0) return 'The sweep stopped before its first trial; nothing is lost.'
  const open = trials.filter((t) => t.state === 'running').map((t) => t.number).sort((a, b) => a - b)
  const done = trials.length - open.length
  const unfinished = open.length === 0 ? '' : `; ${open.length === 1 ? `trial ${open[0]} is` : `trials ${open.join(', ')} are`} unfinished and will continue from ${open.length === 1 ? 'its' : 'their'} last checkpoint`
  return `The sweep stopped; its record (sweep.jsonl) holds every trial up to now: ${done} finished${unfinished}.`
}
