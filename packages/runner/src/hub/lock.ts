// A cross-process lock file at the place huggingface_hub puts its own (.locks/<repo folder>/<etag>.lock).
// Acquired by creating the file with O_EXCL; the holder writes its pid, host and a nonce, and
// refreshes the file's mtime while it works. A lock is stale when its holder is a dead process on
// this host, or when its mtime is older than `staleMs` (a crashed holder elsewhere, or an empty
// lock file left behind by Python's filelock, which never deletes its files).
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync, constants as C, mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { HubLockError } from './errors.ts'

export interface LockOptions {
  /** A lock untouched for this long is considered abandoned (default 60 s; holders refresh it every staleMs/4). */
  staleMs?: number
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

interface Holder {
  pid: number
  host: string
  nonce: string
  since: number
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>
    if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.nonce === 'string')
      return { pid: h.pid, host: h.host, nonce: h.nonce, since: typeof h.since === 'number' ? h.since : 0 }
  } catch {
    // empty or foreign (Python's filelock) lock file
  }
  return undefined
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function describe(h: Holder | undefined, path: string): string {
  return h ? `process ${h.pid} on ${h.host} (since ${new Date(h.since).toISOString()})` : `an unknown process (lock file ${path})`
}

/** Whether the lock at `path` is held by a live holder (used before deleting a repo). */
export function lockIsLive(path: string, staleMs = 60_000): string | undefined {
  let st
  try {
    st = statSync(path)
  } catch {
    return undefined
  }
  const h = readHolder(path)
  if (isStale(h, st.mtimeMs, staleMs)) return undefined
  return describe(h, path)
}

function isStale(h: Holder | undefined, mtimeMs: number, staleMs: number): boolean {
  if (h && h.host === hostname() && !processAlive(h.pid)) return true
  return Date.now() - mtimeMs > staleMs
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

/** Acquires the lock, waiting while a live holder has it. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<LockHandle> {
  const staleMs = opts.staleMs ?? 60_000
  const pollMs = opts.pollMs ?? 100
  const start = Date.now()
  let announced = false
  mkdirSync(dirname(path), { recursive: true })
  const me: Holder = { pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex'), since: Date.now() }
  for (;;) {
    try {
      const fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644)
      try {
        writeSync(fd, JSON.stringify(me))
      } finally {
        closeSync(fd)
      }
      return hold(path, me, staleMs)
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
    if (isStale(holder, st.mtimeMs, staleMs)) {
      breakStale(path, st.ino)
      continue
    }
    if (!announced) {
      announced = true
      opts.onWait?.(describe(holder, path))
    }
    if (opts.timeoutMs !== undefined && Date.now() - start > opts.timeoutMs) {
      const who = describe(holder, path)
      throw new HubLockError({
        lockPath: path,
        holder: who,
        message: `Timed out after ${opts.timeoutMs} ms waiting for ${who} to finish downloading (lock ${path}). If no such download is running, delete the lock file.`,
      })
    }
    await sleep(pollMs)
  }
}

function hold(path: string, me: Holder, staleMs: number): LockHandle {
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

/** Runs `fn` while holding the lock. */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, opts)
  try {
    return await fn()
  } finally {
    lock.release()
  }
}
