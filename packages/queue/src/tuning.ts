// The queue's timings. The defaults suit real trials (minutes long, on machines that may pause for
// a while); tests and tuning shorten them through environment variables so that a killed or
// frozen worker is noticed in seconds:
//   LORAPIPE_QUEUE_LOCK_MS       how long a worker's lock on a job lasts without renewal (BullMQ lockDuration)
//   LORAPIPE_QUEUE_STALLED_MS    how often workers look for jobs whose lock expired (BullMQ stalledInterval)
//   LORAPIPE_QUEUE_LEASH_MS      how long a trial process runs on without hearing from its worker
//   LORAPIPE_QUEUE_POLL_MS       how often cancel flags, the registry and idle queues are checked
//   LORAPIPE_QUEUE_BACKOFF_MS    the first retry delay of a failed trial (doubled each attempt)

export interface QueueTuning {
  readonly lockMs: number
  readonly stalledMs: number
  readonly leashMs: number
  readonly pollMs: number
  readonly backoffMs: number
  /** Times a job may stall (its worker died or froze) before it is failed. */
  readonly maxStalled: number
}

export class QueueTuningError extends Error {
  override readonly name = 'QueueTuningError'
}

function ms(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const text = env[name]
  if (text === undefined || text === '') return fallback
  const v = Number(text)
  if (!Number.isInteger(v) || v < 100) throw new QueueTuningError(`${name}=${text}: expected a whole number of milliseconds >= 100`)
  return v
}

export function queueTuning(env: Readonly<Record<string, string | undefined>> = process.env): QueueTuning {
  const lockMs = ms(env, 'LORAPIPE_QUEUE_LOCK_MS', 30_000)
  return {
    lockMs,
    stalledMs: ms(env, 'LORAPIPE_QUEUE_STALLED_MS', 30_000),
    // Shorter than the lock: a trial whose worker froze stops before another worker takes it over.
    leashMs: ms(env, 'LORAPIPE_QUEUE_LEASH_MS', Math.max(1000, Math.round(lockMs * 0.6))),
    pollMs: ms(env, 'LORAPIPE_QUEUE_POLL_MS', 1000),
    backoffMs: ms(env, 'LORAPIPE_QUEUE_BACKOFF_MS', 10_000),
    maxStalled: 3,
  }
}
