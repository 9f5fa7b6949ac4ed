// The coordinator's ear on a queue: BullMQ's event stream for it (`<prefix>:<queue>:events`), read
// with XREAD, each entry decoded strictly (job.ts) before anyone hears of it. A malformed entry is
// skipped. (BullMQ's own QueueEvents stops for good at the first progress entry whose JSON does not
// parse, and anyone who can write to Redis can write one.) While Redis is away the read waits, and
// it goes on from the last entry it saw once Redis is back.
import type { Redis } from 'ioredis'
import { decodeTrialProgress, MAX_PROGRESS_BYTES, type TrialProgress } from './job.ts'
import { parseOrUndefined } from './shape.ts'

export interface QueueEventHandlers {
  /** A run event a worker reported for the job, decoded. */
  readonly progress: (jobId: string, p: TrialProgress) => void
  /** The job completed, failed (perhaps to be retried) or was removed: its state decides. */
  readonly ended: (jobId: string) => void
}

export interface QueueEventReader {
  /** Resolves once the reader knows where the stream ends now: every later event is heard. */
  readonly ready: Promise<void>
  readonly close: () => void
}

/** Reads the stream `key` on `redis` (a connection of its own: XREAD blocks it) until closed. */
export function readQueueEvents(redis: Redis, key: string, on: QueueEventHandlers): QueueEventReader {
  let closed = false
  let last = '0-0'
  const ready = redis.xrevrange(key, '+', '-', 'COUNT', 1).then((r) => {
    last = r[0]?.[0] ?? '0-0'
  })
  const handle = (fields: string[]) => {
    // Field, value, field, value ...; only the three fields of interest are looked at.
    let event: string | undefined
    let jobId: string | undefined
    let data: string | undefined
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'event') event = fields[i + 1]
      else if (fields[i] === 'jobId') jobId = fields[i + 1]
      else if (fields[i] === 'data') data = fields[i + 1]
    }
    if (jobId === undefined) return
    if (event === 'progress') {
      const p = parseOrUndefined(data, decodeTrialProgress, MAX_PROGRESS_BYTES)
      if (p) on.progress(jobId, p)
    } else if (event === 'completed' || event === 'failed' || event === 'removed') on.ended(jobId)
  }
  void (async () => {
    await ready.catch(() => undefined)
    while (!closed) {
      try {
        const res = await redis.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', key, last)
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            last = id
            handle(fields)
          }
        }
      } catch {
        if (!closed) await new Promise((r) => setTimeout(r, 500))
      }
    }
  })()
  return {
    ready,
    close: () => {
      closed = true
      redis.disconnect()
    },
  }
}
