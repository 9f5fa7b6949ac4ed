// One process at a time in a run folder: `run.lock` in the folder, held for the whole run
// (core's lock file: pid, host, start time, heartbeat). A run killed with SIGKILL leaves the file,
// but its process is dead, so the next `lorapipe run --resume` takes it over; on another host
// (a shared file system) a lock whose heartbeat stopped for RUN_LOCK_STALE_MS is taken over.
import { join } from 'node:path'
import * as Data from 'effect/Data'
import { LockBusy, lockIsLive, tryAcquireLock, type LockHandle, type LockOptions } from '../fs/lock.ts'

export const RUN_LOCK = 'run.lock'

/** Heartbeat age after which a holder on another host is taken for crashed. */
export const RUN_LOCK_STALE_MS = 10 * 60_000

// A training step may block the event loop (and so the heartbeat) for long: on this host, only
// the holder's process decides.
const options: LockOptions = { staleMs: RUN_LOCK_STALE_MS, trustLocalPid: true }

/** Another process is running in the run folder. */
export class RunFolderBusy extends Data.TaggedError('RunFolderBusy')<{ readonly dir: string; readonly holder: string }> {
  override get message(): string {
    return `the run folder ${this.dir} is in use by ${this.holder}`
  }
  get hint(): string {
    return `wait for that run to finish (or stop it); if no such process is running, delete ${join(this.dir, RUN_LOCK)}`
  }
}

/** Takes the run folder's lock (the folder must exist), or RunFolderBusy naming the live owner. */
export function lockRunFolder(dir: string): LockHandle | RunFolderBusy {
  const r = tryAcquireLock(join(dir, RUN_LOCK), options)
  return r instanceof LockBusy ? new RunFolderBusy({ dir, holder: r.holder }) : r
}

/** The live owner of a run folder, described, or undefined when no one holds it. */
export function runFolderOwner(dir: string): string | undefined {
  return lockIsLive(join(dir, RUN_LOCK), options)
}
