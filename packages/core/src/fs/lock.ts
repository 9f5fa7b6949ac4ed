// A cross-process lock file, for the hub cache (one download of a file at a time) and for a run
// folder (one run in it at a time). Acquired by creating the file with O_EXCL; the holder writes
// its pid, host, start time and a nonce, and refreshes the file's mtime (its heartbeat) while it
// works. A lock is stale when its holder is a dead process on this host, or when its heartbeat
// is older than `staleMs` (a crashed holder on another host, or an empty lock file left behind
// by Python's filelock, which never deletes its files).
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync, constants as C, mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import * as Data from 'effect/Data'
import { processAlive, processStart } from '../os/process.ts'
import { writingFile } from './append-lines.ts'

export interface LockOptions {
  /** A lock whose heartbeat is older than this is abandoned (default 60 s; holders beat every staleMs/4). */
  staleMs?: number
  /**
   * A holder on this host is judged by its process alone: alive (the same process, not a reused
   * pid) means held, however old the heartbeat. For holders that may block the event loop for
   * long (a training step). The heartbeat then only matters for holders on other hosts.
   */
  trustLocalPid?: boolean
  /** Give up waiting after this long (default: wait as long as the holder is alive). */
  timeoutMs?: number
  /** Called once when the lock is busy and we start waiting, with a description of the holder. */
  onWait?: (holder: string) => void
  pollMs?: number
}

export interface LockHandle {
  readonly path: string
  release(): void
}

/** Who holds a lock, as its file says. */
export interface LockHolder {
  readonly pid: number
  readonly host: string
  readonly nonce: string
  /** When it was taken (ms since the epoch). */
  readonly since: number
  /** The holder process's start time (Linux: clock ticks after boot), to tell a reused pid apart. */
  readonly start?: number | undefined
}

/** The lock is held by someone else (and, when waiting, did not come free in time). */
export class LockBusy extends Data.TaggedError('LockBusy')<{ readonly path: string; readonly holder: string }> {
  override get message(): string {
    return `${this.path} is held by ${this.holder}`
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>
    if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.nonce === 'string')
      return { pid: h.pid, host: h.host, nonce: h.nonce, since: typeof h.since === 'number' ? h.since : 0, start: typeof h.start === 'number' ? h.start : undefined }
  } catch {
    // empty or foreign (Python's filelock) lock file
  }
  return undefined
}

/** Whether the holder recorded in a lock file is a live process on this host (the same one, where /proc tells). */
function holderAlive(h: LockHolder): boolean {
  if (!processAlive(h.pid)) return false
  if (h.start === undefined) return true
  const now = processStart(h.pid)
  return now === undefined || now === h.start
}

export function describeHolder(h: LockHolder | undefined, path: string): string {
  return h ? `process ${h.pid} on ${h.host} (since ${new Date(h.since).toISOString()})` : `an unknown process (lock file ${path})`
}

function isStale(h: LockHolder | undefined, mtimeMs: number, opts: LockOptions): boolean {
  const local = h !== undefined && h.host === hostname()
  if (local && !holderAlive(h)) return true
  if (local && opts.trustLocalPid) return false
  return Date.now() - mtimeMs > (opts.staleMs ?? 60_000)
}

/** The live holder of the lock at `path`, described, or undefined when it is free or stale. */
export function lockIsLive(path: string, opts: LockOptions | number = {}): string | undefined {
  const o = typeof opts === 'number' ? { staleMs: opts } : opts
  let st
  try {
    st = statSync(path)
  } catch {
    return undefined
  }
  const h = readHolder(path)
  if (isStale(h, st.mtimeMs, o)) return undefined
  return describeHolder(h, path)
}

// Removes a stale lock without removing a fresh one that replaced it meanwhile: move it aside
// first, then check that what we moved is the file we judged stale (same inode).
function breakStale(path: string, ino: number): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    renameSync(path, aside)
  } catch {
    return
  }
  let movedIno = -1
  try {
    movedIno = statSync(aside).ino
  } catch {
    return
  }
  if (movedIno !== ino) {
    // We moved someone's fresh lock: put it back (link fails if yet another one appeared).
    try {
      linkSync(aside, path)
    } catch {
      // a newer lock is in place
    }
  }
  try {
    unlinkSync(aside)
  } catch {
    // already gone
  }
}

/** One attempt: the lock, or LockBusy naming its live holder. Stale locks are broken on the way. */
export function tryAcquireLock(path: string, opts: LockOptions = {}): LockHandle | LockBusy {
  mkdirSync(dirname(path), { recursive: true })
  const me: LockHolder = { pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex'), since: Date.now(), start: processStart(process.pid) }
  // A few rounds: a stale lock broken here may be taken by another process first.
  for (let round = 0; round < 5; round++) {
    try {
      const fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644)
      try {
        writingFile(path, () => writeSync(fd, JSON.stringify(me)))
      } catch (e) {
        // Not taken (a full disk): an empty lock file left behind would read as someone else's.
        closeSync(fd)
        unlinkSync(path)
        throw e
      }
      closeSync(fd)
      return hold(path, me, opts.staleMs ?? 60_000)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    let st
    try {
      st = statSync(path)
    } catch {
      continue // released between our open and stat
    }
    const holder = readHolder(path)
    if (!isStale(holder, st.mtimeMs, opts)) return new LockBusy({ path, holder: describeHolder(holder, path) })
    breakStale(path, st.ino)
  }
  return new LockBusy({ path, holder: describeHolder(readHolder(path), path) })
}

/** Acquires the lock, waiting while a live holder has it; LockBusy when `timeoutMs` runs out. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<LockHandle> {
  const pollMs = opts.pollMs ?? 100
  const start = Date.now()
  let announced = false
  for (;;) {
    const r = tryAcquireLock(path, opts)
    if (!(r instanceof LockBusy)) return r
    if (!announced) {
      announced = true
      opts.onWait?.(r.holder)
    }
    if (opts.timeoutMs !== undefined && Date.now() - start > opts.timeoutMs) throw r
    await sleep(pollMs)
  }
}

function hold(path: string, me: LockHolder, staleMs: number): LockHandle {
  const beat = setInterval(
    () => {
      try {
        const now = new Date()
        utimesSync(path, now, now)
      } catch {
        // lock removed under us; release() copes
      }
    },
    Math.max(50, Math.floor(staleMs / 4)),
  )
  beat.unref()
  let released = false
  return {
    path,
    release() {
      if (released) return
      released = true
      clearInterval(beat)
      // Only remove the file if it is still ours.
      const h = readHolder(path)
      if (h && h.nonce === me.nonce) {
        try {
          unlinkSync(path)
        } catch {
          // already gone
        }
      }
    },
  }
}

/** Runs `fn` while holding the lock (taken by `acquire`: a caller may map the busy error to its own). */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>, acquire: (path: string, opts: LockOptions) => Promise<LockHandle> = acquireLock): Promise<T> {
  const lock = await acquire(path, opts)
  try {
    return await fn()
  } finally {
    lock.release()
  }
}
