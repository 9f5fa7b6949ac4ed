// What lives in Redis besides BullMQ's own keys: the sweeps that have a queue (so idle workers find
// work and `lorapipe sweep status` can list them), the workers' heartbeats, and a cancel flag per
// job (how a coordinator tells the worker running a trial to stop it).
import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import type { Redis } from 'ioredis'

export const SWEEPS_KEY = 'lorapipe:sweeps'
export const WORKERS_KEY = 'lorapipe:workers'
export const cancelKey = (jobId: string) => `lorapipe:cancel:${jobId}`

/** A sweep's id: its name and a digest of its folder, the same for a coordinator restarted on that folder. */
export function sweepIdOf(name: string, sweepDir: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_')
  return `${safe}-${createHash('sha256').update(sweepDir).digest('hex').slice(0, 10)}`
}

export const queueNameOf = (sweepId: string) => `lorapipe-sweep-${sweepId}`
export const jobIdOf = (sweepId: string, trial: number) => `${sweepId}-${trial}`

export interface SweepEntry {
  readonly id: string
  readonly queue: string
  readonly name: string
  readonly dir: string
  /** running: workers serve it; done: it ended; stopped: interrupted (resumable), its trials stopped. */
  readonly status: 'running' | 'done' | 'stopped'
  readonly startedAt: string
  /** The coordinator's last sign of life (ms since the epoch). */
  readonly heartbeat: number
}

export interface WorkerEntry {
  readonly id: string
  readonly host: string
  readonly pid: number
  readonly concurrency: number
  readonly sweep?: string
  readonly running: readonly string[]
  readonly heartbeat: number
  readonly startedAt: string
}

export async function putSweep(redis: Redis, e: SweepEntry): Promise<void> {
  await redis.hset(SWEEPS_KEY, e.queue, JSON.stringify(e))
}

export async function listSweeps(redis: Redis): Promise<SweepEntry[]> {
  const all = await redis.hgetall(SWEEPS_KEY)
  return Object.values(all)
    .flatMap((v) => {
      try {
        return [JSON.parse(v) as SweepEntry]
      } catch {
        return []
      }
    })
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
}

export async function putWorker(redis: Redis, w: WorkerEntry): Promise<void> {
  await redis.hset(WORKERS_KEY, w.id, JSON.stringify(w))
}

export async function listWorkers(redis: Redis): Promise<WorkerEntry[]> {
  const all = await redis.hgetall(WORKERS_KEY)
  return Object.values(all).flatMap((v) => {
    try {
      return [JSON.parse(v) as WorkerEntry]
    } catch {
      return []
    }
  })
}

export const folderLabel = (dir: string) => basename(dir)

/** Marks a sweep's status (e.g. done when its coordinator finished it). */
export async function setSweepStatus(redis: Redis, queue: string, status: SweepEntry['status']): Promise<void> {
  const text = await redis.hget(SWEEPS_KEY, queue)
  if (text === null) return
  await redis.hset(SWEEPS_KEY, queue, JSON.stringify({ ...(JSON.parse(text) as SweepEntry), status, heartbeat: Date.now() }))
}

export async function removeWorker(redis: Redis, id: string): Promise<void> {
  await redis.hdel(WORKERS_KEY, id)
}
