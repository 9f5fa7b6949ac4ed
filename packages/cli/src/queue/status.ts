// `lorapipe sweep status --queue URL`: what the Redis behind a distributed sweep knows: the sweeps
// (their coordinator's state and last sign of life), their trials by job state, and the workers
// seen with their last heartbeat. The queue URL is shown redacted, never with its password. Only
// well-formed registry entries are listed (registry.ts): anyone with access to Redis can write there.
import { Queue } from 'bullmq'
import { EXIT } from '../exit-codes.ts'
import { type QueueConnection, reachQueue, redisClient } from './connection.ts'
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

const age = (ms: number) => (ms < 1000 ? 'now' : ms < 120_000 ? `${Math.round(ms / 1000)}s ago` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m ago` : `${Math.round(ms / 3_600_000)}h ago`)

export function statusText(s: QueueStatus, now = Date.now()): string {
  const out = [`queue ${s.queue}`, '']
  if (s.sweeps.length === 0) out.push('no sweeps')
  else {
    out.push('sweeps:')
    for (const w of s.sweeps) {
      const t = w.trials
      out.push(`  ${w.name}  ${w.status}, coordinator seen ${age(now - w.heartbeat)}  ${w.dir}`)
      out.push(`    trials: ${t.waiting} waiting, ${t.active} running, ${t.completed} done, ${t.failed} failed, ${t.delayed} delayed (retry)`)
    }
  }
  out.push('')
  if (s.workers.length === 0) out.push('no workers seen')
  else {
    out.push('workers:')
    for (const w of [...s.workers].sort((a, b) => b.heartbeat - a.heartbeat))
      out.push(`  ${w.host} pid ${w.pid}  seen ${age(now - w.heartbeat)}  ${w.running.length}/${w.concurrency} running${w.running.length ? `: ${w.running.join(', ')}` : ''}`)
  }
  return out.join('\n') + '\n'
}

export async function sweepStatusCommand(connection: QueueConnection, opts: { json: boolean }): Promise<number> {
  // A refused password or an unreachable host is said within seconds, with what to do.
  const unreachable = await reachQueue(connection)
  if (unreachable !== undefined) return unreachable
  let s: QueueStatus
  try {
    s = await queueStatus(connection)
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n  hint: check the host and port of --queue, and that redis-server runs there\n`)
    return EXIT.failed
  }
  process.stdout.write(opts.json ? JSON.stringify(s) + '\n' : statusText(s))
  return EXIT.ok
}
