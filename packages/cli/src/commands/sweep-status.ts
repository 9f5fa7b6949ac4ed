// `lorapipe sweep status --queue URL`: what the Redis behind a distributed sweep knows (the
// queue's queueStatus), as lines or as JSON.
import { queueStatus, type QueueStatus } from '@lorapipe/queue/status.ts'
import type { QueueConnection } from '@lorapipe/queue/connection.ts'
import { EXIT } from '../exit-codes.ts'
import { reachQueue } from './reach-queue.ts'

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
