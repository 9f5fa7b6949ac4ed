// What the Redis behind distributed sweeps knows (for `lorapipe sweep status --queue URL`): the
// sweeps (their coordinator's state and last sign of life), their trials by job state, and the
// workers seen with their last heartbeat. The queue is named by its redacted URL, never with its
// password. Only well-formed registry entries are listed (registry.ts): anyone with access to
// Redis can write there.
import { Queue } from 'bullmq'
import { type QueueConnection, redisClient } from './connection.ts'
import { listSweeps, listWorkers, type SweepEntry, type WorkerEntry } from './registry.ts'

const STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const

export interface SweepStatusRow extends SweepEntry {
  readonly trials: Readonly<Record<(typeof STATES)[number], number>>
}

export interface QueueStatus {
  readonly queue: string
  readonly sweeps: readonly SweepStatusRow[]
  readonly workers: readonly WorkerEntry[]
}

export async function queueStatus(connection: QueueConnection, timeoutMs = 5000): Promise<QueueStatus> {
  const redis = redisClient({ ...connection, options: { ...connection.options, retryStrategy: () => 500, maxRetriesPerRequest: 1 } })
  let lastError: Error | undefined
  redis.on('error', (e: Error) => (lastError = e))
  const timer = setTimeout(() => redis.disconnect(), timeoutMs)
  try {
    await redis.ping().catch((e: Error) => {
      throw new Error(`cannot reach the queue at ${connection.display}: ${(lastError ?? e).message}`)
    })
    const sweeps = await listSweeps(redis)
    const rows: SweepStatusRow[] = []
    for (const s of sweeps) {
      const q = new Queue(s.queue, { connection: redis })
      const counts = await q.getJobCounts(...STATES)
      rows.push({ ...s, trials: Object.fromEntries(STATES.map((k) => [k, counts[k] ?? 0])) as SweepStatusRow['trials'] })
    }
    return { queue: connection.display, sweeps: rows, workers: await listWorkers(redis) }
  } finally {
    clearTimeout(timer)
    redis.disconnect()
  }
}
