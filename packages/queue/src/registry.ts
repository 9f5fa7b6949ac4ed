// What lives in Redis besides BullMQ's own keys: the sweeps that have a queue (so idle workers find
// work and `lorapipe sweep status` can list them), the workers' heartbeats, and a cancel flag per
// job (how a coordinator tells the worker running a trial to stop it). Entries are read back
// through strict decoders: anyone who can write to Redis can write here, and an entry that does
// not have its exact shape (or whose id is not that of its name and folder) is ignored.
import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import type { Redis } from 'ioredis'
import { sha256Text, sweepIdText } from './job.ts'
import { type Decoder, fail, finite, list, oneOf, parseOrUndefined, struct, text, whole } from './shape.ts'

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
  /** sha256 (hex) of the sweep folder's sweep.json: the sweep as its coordinator runs it. */
  readonly sweepHash: string
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

/** The largest registry entry (its JSON) that is read. */
const MAX_ENTRY_BYTES = 16 * 1024
const line = (max: number) => text({ max })
const time = line(64)

const sweepShape = struct({
  id: sweepIdText,
  queue: line(300),
  name: line(200),
  dir: line(4096),
  status: oneOf('running', 'done', 'stopped'),
  startedAt: time,
  heartbeat: finite(0),
  sweepHash: sha256Text,
})

/** A sweep's entry, checked: its exact shape, and its id and queue those of its name and folder. */
export const decodeSweepEntry: Decoder<SweepEntry> = (v, at) => {
  const e = sweepShape(v, at)
  if (e.id !== sweepIdOf(e.name, e.dir)) return fail(at, `the id ${e.id} is not that of the sweep ${e.name} in ${e.dir}`)
  if (e.queue !== queueNameOf(e.id)) return fail(at, `the queue ${e.queue} is not that of the sweep ${e.id}`)
  return e
}

export const decodeWorkerEntry: Decoder<WorkerEntry> = struct(
  { id: line(300), host: line(255), pid: whole(1, 2 ** 31 - 1), concurrency: whole(1, 10_000), running: list(line(300), 10_000), heartbeat: finite(0), startedAt: time },
  { sweep: line(200) },
)

export async function putSweep(redis: Redis, e: SweepEntry): Promise<void> {
  await redis.hset(SWEEPS_KEY, e.queue, JSON.stringify(e))
}

/** The sweep entry stored under `queue`, when it is well-formed and filed under its own queue. */
export async function getSweep(redis: Redis, queue: string): Promise<SweepEntry | undefined> {
  const e = parseOrUndefined(await redis.hget(SWEEPS_KEY, queue), decodeSweepEntry, MAX_ENTRY_BYTES)
  return e?.queue === queue ? e : undefined
}

/** The well-formed sweep entries (each filed under its own queue), oldest first; the others are ignored. */
export async function listSweeps(redis: Redis): Promise<SweepEntry[]> {
  const all = await redis.hgetall(SWEEPS_KEY)
  return Object.entries(all)
    .flatMap(([queue, v]) => {
      const e = parseOrUndefined(v, decodeSweepEntry, MAX_ENTRY_BYTES)
      return e && e.queue === queue ? [e] : []
    })
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
}

export async function putWorker(redis: Redis, w: WorkerEntry): Promise<void> {
  await redis.hset(WORKERS_KEY, w.id, JSON.stringify(w))
}

/** The well-formed worker entries; the others are ignored. */
export async function listWorkers(redis: Redis): Promise<WorkerEntry[]> {
  const all = await redis.hgetall(WORKERS_KEY)
  return Object.values(all).flatMap((v) => {
    const w = parseOrUndefined(v, decodeWorkerEntry, MAX_ENTRY_BYTES)
    return w ? [w] : []
  })
}

export const folderLabel = (dir: string) => basename(dir)

/** Marks a sweep's status (e.g. done when its coordinator finished it). */
export async function setSweepStatus(redis: Redis, queue: string, status: SweepEntry['status']): Promise<void> {
  const e = await getSweep(redis, queue)
  if (e === undefined) return
  await putSweep(redis, { ...e, status, heartbeat: Date.now() })
}

export async function removeWorker(redis: Redis, id: string): Promise<void> {
  await redis.hdel(WORKERS_KEY, id)
}
