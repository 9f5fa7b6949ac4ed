// The hub cache's lock file, at the place huggingface_hub puts its own (.locks/<repo folder>/<etag>.lock):
// core's lock file (pid, host, heartbeat, stale detection), with the hub's error when waiting times out.
import { acquireLock as acquire, LockBusy, withLock as withCoreLock, type LockHandle, type LockOptions } from '@lorapipe/core/fs/lock.ts'
import { HubLockError } from './errors.ts'

export { lockIsLive, type LockHandle, type LockOptions } from '@lorapipe/core/fs/lock.ts'

/** Acquires the lock, waiting while a live holder has it. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<LockHandle> {
  try {
    return await acquire(path, opts)
  } catch (e) {
    if (!(e instanceof LockBusy)) throw e
    throw new HubLockError({
      lockPath: path,
      holder: e.holder,
      message: `Timed out after ${opts.timeoutMs} ms waiting for ${e.holder} to finish downloading (lock ${path}). If no such download is running, delete the lock file.`,
    })
  }
}

/** Runs `fn` while holding the lock. */
export const withLock = <T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> => withCoreLock(path, opts, fn, acquireLock)
