// The coordinator's side of a distributed sweep: a TrialExecutor that puts each trial on the
// sweep's BullMQ queue (job id `<sweep id>-<trial>`, so a trial added again is the same job) and
// hands back what the worker running it reports: its run events (job progress, each tagged with
// the attempt that produced it, so a frozen worker that comes back late is not heard), its
// evaluations (also kept in the job's log, so a restarted coordinator catches up), and how it ended.
// Stopping a trial (pruning, Ctrl-C) raises the job's cancel flag, which its worker obeys.
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import type * as Scope from 'effect/Scope'
import { Queue, QueueEvents, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { RunEvent } from '@lorapipe/core'
import { TrialExecutor, type TrialOutcome, type TrialRunner, type TrialSpec } from '@lorapipe/core/sweep/coordinator/executor.ts'
import { type QueueConnection, redisClient } from './connection.ts'
import { STOPPED_BY_COORDINATOR, type TrialJobData, type TrialProgress } from './job.ts'
import { cancelKey, jobIdOf, putSweep, queueNameOf, type SweepEntry } from './registry.ts'

export interface QueueExecutorOptions {
  readonly connection: QueueConnection
  readonly sweepId: string
  readonly sweepName: string
  readonly sweepDir: string
  /** Attempts after a real failure (with exponential backoff); a stopped or pruned trial is never retried. */
  readonly retries: number
  readonly backoffMs: number
  /** How often job states are checked besides the events (a missed event must not hang a trial). */
  readonly pollMs: number
  /** The trial's fully resolved pipeline, as the job carries it. */
  readonly pipelineOf: (spec: TrialSpec) => Promise<string>
  /** How long a stopped trial may take to wind down before the coordinator stops waiting (default 120 s). */
  readonly stopTimeoutMs?: number
}

type TrialJob = Job<TrialJobData, TrialOutcome, 'trial'>

interface Watch {
  readonly progress: (p: TrialProgress) => void
  readonly check: () => void
}

const parse = <T>(v: unknown): T | undefined => {
  if (typeof v !== 'string') return v as T
  try {
    return JSON.parse(v) as T
  } catch {
    return undefined
  }
}

/** A job that ended: its outcome as the coordinator records it. */
function outcomeOf(job: TrialJob, state: string): TrialOutcome | undefined {
  if (state === 'completed') return parse<TrialOutcome>(job.returnvalue) ?? { status: 'succeeded' }
  if (state === 'failed') return { status: 'failed', error: `${job.failedReason || 'failed'}${job.attemptsMade > 1 ? ` (after ${job.attemptsMade} attempts)` : ''}` }
  return undefined
}

/**
 * The outcome of a job that has ended, else undefined. A job read before its state may be older
 * than that state (its last attempt failed in between: the first attempt's reason and count), so
 * an ended job is read again: once completed or failed, it no longer changes.
 */
async function endedOutcome(queue: Queue<TrialJobData, TrialOutcome, 'trial'>, job: TrialJob, state: string): Promise<TrialOutcome | undefined> {
  if (state !== 'completed' && state !== 'failed') return undefined
  const final = ((await queue.getJob(job.id!)) as TrialJob | undefined) ?? job
  return outcomeOf(final, state)
}

/** An evaluation's identity within a trial: the same one reported twice (replayed log, resumed run) counts once. */
const evalKey = (e: RunEvent) => (e._tag === 'EvalMetrics' ? `${e.stage ?? ''}@${e.step}` : undefined)

export function queueTrialRunner(opts: QueueExecutorOptions): Effect.Effect<TrialRunner, never, Scope.Scope> {
  return Effect.gen(function* () {
    const name = queueNameOf(opts.sweepId)
    const watches = new Map<string, Watch>()
    const { queue, redis } = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const redis: Redis = redisClient(opts.connection)
        const queue = new Queue<TrialJobData, TrialOutcome, 'trial'>(name, { connection: opts.connection.options })
        const events = new QueueEvents(name, { connection: opts.connection.options })
        // While Redis is unreachable ioredis reconnects for as long as it takes: errors are expected then.
        queue.on('error', () => undefined)
        events.on('error', () => undefined)
        redis.on('error', () => undefined)
        events.on('progress', ({ jobId, data }) => {
          const p = parse<TrialProgress>(data)
          if (p && typeof p === 'object' && 'event' in p) watches.get(jobId)?.progress(p)
        })
        events.on('completed', ({ jobId }) => watches.get(jobId)?.check())
        // 'failed' is also said of an attempt that will be retried: the job's state decides.
        events.on('failed', ({ jobId }) => watches.get(jobId)?.check())
        events.on('removed', ({ jobId }) => watches.get(jobId)?.check())
        await events.waitUntilReady()
        const startedAt = new Date().toISOString()
        const entry = (): SweepEntry => ({ id: opts.sweepId, queue: name, name: opts.sweepName, dir: opts.sweepDir, status: 'running', startedAt, heartbeat: Date.now() })
        await putSweep(redis, entry())
        const heartbeat = setInterval(() => void putSweep(redis, entry()).catch(() => undefined), 2000)
        const poll = setInterval(() => {
          for (const w of watches.values()) w.check()
        }, Math.max(opts.pollMs * 5, 1000))
        return { queue, events, redis, timers: [heartbeat, poll], entry }
      }),
      (r) =>
        Effect.promise(async () => {
          for (const t of r.timers) clearInterval(t)
          // Workers stop serving a sweep whose coordinator has stopped (its trials were stopped first);
          // the sweep command marks it done when it ended.
          await putSweep(r.redis, { ...r.entry(), status: 'stopped' }).catch(() => undefined)
          await Promise.allSettled([r.events.close(), r.queue.close()])
          r.redis.disconnect()
        }),
    )

    const add = async (spec: TrialSpec, jobId: string) => {
      const data: TrialJobData = { spec, pipeline: await opts.pipelineOf(spec) }
      // A cancel flag left from an earlier stop of this trial must not stop the new job.
      await redis.del(cancelKey(jobId))
      await queue.add('trial', data, {
        jobId,
        attempts: opts.retries + 1,
        backoff: { type: 'exponential', delay: opts.backoffMs },
        removeOnComplete: false,
        removeOnFail: false,
      })
    }

    const run: TrialRunner['run'] = (spec: TrialSpec, onEvent: (e: RunEvent) => void) =>
      Effect.async<TrialOutcome>((resume) => {
        const jobId = jobIdOf(opts.sweepId, spec.trial)
        let attempt = 0
        let finished = false
        const seenEvals = new Set<string>()
        let settle: () => void = () => undefined
        const over = new Promise<void>((r) => (settle = r))
        const deliver = (event: RunEvent) => {
          const k = evalKey(event)
          if (k !== undefined) {
            if (seenEvals.has(k)) return
            seenEvals.add(k)
          }
          onEvent(event)
        }
        const progress = (p: TrialProgress) => {
          if (finished) return
          // Events of an earlier attempt (a worker that lost the job and came back) are not the trial's any more.
          if (p.attempt < attempt) return
          attempt = p.attempt
          deliver(p.event)
        }
        /** The evaluations the job's workers logged: what a coordinator that was away has missed. */
        const catchUp = async () => {
          const { logs } = await queue.getJobLogs(jobId)
          for (const row of logs) {
            const p = parse<TrialProgress>(row)
            if (p?.event) deliver(p.event)
          }
        }
        const finish = (o: TrialOutcome) => {
          if (finished) return
          finished = true
          watches.delete(jobId)
          settle()
          resume(Effect.succeed(o))
        }
        let checking = false
        // Until the job is on the queue (or while a stopped one is replaced by a new one with the
        // same id), its absence means nothing.
        let attached = false
        const check = async () => {
          if (finished || checking || !attached) return
          checking = true
          try {
            const job = (await queue.getJob(jobId)) as TrialJob | undefined
            if (!job) return finish({ status: 'failed', error: `the job ${jobId} is gone from the queue` })
            const o = await endedOutcome(queue, job, await job.getState())
            if (o) {
              await catchUp()
              finish(o)
            }
          } finally {
            checking = false
          }
        }
        watches.set(jobId, { progress, check: () => void check().catch(() => undefined) })
        const attach = async () => {
          const job = (await queue.getJob(jobId)) as TrialJob | undefined
          if (!job) return add(spec, jobId)
          // A job from before a coordinator restart: catch up with the evaluations it reported.
          await catchUp()
          const state = await job.getState()
          if (state === 'failed' && job.failedReason === STOPPED_BY_COORDINATOR) {
            // Stopped with an earlier coordinator (Ctrl-C): run it again, from its checkpoint.
            await job.remove()
            return await add({ ...spec, resume: true }, jobId)
          }
          const o = await endedOutcome(queue, job, state)
          if (o) finish(o)
        }
        const attaching = attach().then(
          () => {
            attached = true
            // An end announced while it was being attached is not missed.
            void check().catch(() => undefined)
          },
          (e) => finish({ status: 'failed', error: `could not queue the trial: ${(e as Error).message}` }),
        )
        // Interrupted (pruned, or the sweep stops): remove a job nobody started; else ask its
        // worker to stop the trial cleanly, and wait until it has.
        return Effect.promise(async () => {
          // A job being added now would otherwise run with nobody listening.
          await attaching
          if (finished) return
          try {
            const job = (await queue.getJob(jobId)) as TrialJob | undefined
            const state = job ? await job.getState() : 'unknown'
            if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) {
              try {
                await job.remove()
                return
              } catch {
                // taken by a worker meanwhile: cancel it below
              }
            }
            if (state === 'completed' || state === 'failed' || state === 'unknown') return
            await redis.set(cancelKey(jobId), '1', 'EX', 24 * 3600)
            // No worker holds it (its worker died): nobody to wait for; whoever takes it next sees the flag.
            if ((await redis.exists(`${queue.toKey(jobId)}:lock`)) === 0) return
            await Promise.race([over, new Promise((r) => setTimeout(r, opts.stopTimeoutMs ?? 120_000))])
          } catch {
            // Redis unreachable: the trial's worker stops it when it sees the sweep stopped.
          } finally {
            finished = true
            watches.delete(jobId)
          }
        })
      })
    return { run }
  })
}

export function queueExecutorLayer(opts: QueueExecutorOptions): Layer.Layer<TrialExecutor> {
  return Layer.scoped(TrialExecutor, queueTrialRunner(opts))
}
