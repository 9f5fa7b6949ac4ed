// The coordinator's side of a distributed sweep: a TrialExecutor that puts each trial on the
// sweep's BullMQ queue (job id `<sweep id>-<trial>`, so a trial added again is the same job) and
// hands back what the worker running it reports: its run events (job progress, each tagged with
// the attempt that produced it, so a frozen worker that comes back late is not heard), its
// evaluations (also kept in the job's log, so a restarted coordinator catches up), and how it ended.
// Stopping a trial (pruning, Ctrl-C) raises the job's cancel flag, which its worker obeys.
// A job says only which trial to run with which values and the sweep's hash (job.ts); everything
// read back from Redis (events, logs, results, jobs found there) is decoded strictly first.
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import type * as Scope from 'effect/Scope'
import { Queue, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { RunEvent } from '@lorapipe/core'
import { TrialExecutor, type TrialOutcome, type TrialRunner, type TrialSpec } from '@lorapipe/core/sweep/coordinator/executor.ts'
import { canonicalKey } from '@lorapipe/core/sweep/samplers/configuration.ts'
import { type QueueConnection, redisClient } from './connection.ts'
import { readQueueEvents } from './events.ts'
import { decodeTrialJob, decodeTrialOutcome, decodeTrialProgress, MAX_PROGRESS_BYTES, STOPPED_BY_COORDINATOR, type TrialJobData, type TrialProgress } from './job.ts'
import { cancelKey, jobIdOf, putSweep, queueNameOf, type SweepEntry } from './registry.ts'
import { decodeOrUndefined, parseOrUndefined } from './shape.ts'

export interface QueueExecutorOptions {
  readonly connection: QueueConnection
  readonly sweepId: string
  readonly sweepName: string
  readonly sweepDir: string
  /** sha256 (hex) of the sweep folder's sweep.json: every job and the registry entry carry it. */
  readonly sweepHash: string
  /** Attempts after a real failure (with exponential backoff); a stopped or pruned trial is never retried. */
  readonly retries: number
  readonly backoffMs: number
  /** How often job states are checked besides the events (a missed event must not hang a trial). */
  readonly pollMs: number
  /** How long a stopped trial may take to wind down before the coordinator stops waiting (default 120 s). */
  readonly stopTimeoutMs?: number
}

type TrialJob = Job<unknown, unknown, string>

interface Watch {
  readonly progress: (p: TrialProgress) => void
  readonly check: () => void
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Waits for `p`, at most `ms`: a step that needs Redis must not hold up a stop while Redis is away. */
const atMost = <T>(p: Promise<T>, ms: number): Promise<T | undefined> => Promise.race([p.catch(() => undefined), sleep(ms).then(() => undefined)])
const MAX_REASON = 8 * 1024

/** A job that ended: its outcome as the coordinator records it. */
function outcomeOf(job: TrialJob, state: string): TrialOutcome | undefined {
  if (state === 'completed') {
    let v: unknown = job.returnvalue
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v)
      } catch {
        // not JSON: malformed, below
      }
    }
    return decodeOrUndefined(v, decodeTrialOutcome) ?? { status: 'failed', error: 'the worker reported a malformed result' }
  }
  if (state === 'failed') {
    const reason = String(job.failedReason || 'failed').slice(0, MAX_REASON)
    return { status: 'failed', error: `${reason}${job.attemptsMade > 1 ? ` (after ${job.attemptsMade} attempts)` : ''}` }
  }
  return undefined
}

/**
 * The outcome of a job that has ended, else undefined. A job read before its state may be older
 * than that state (its last attempt failed in between: the first attempt's reason and count), so
 * an ended job is read again: once completed or failed, it no longer changes.
 */
async function endedOutcome(queue: Queue, job: TrialJob, state: string): Promise<TrialOutcome | undefined> {
  if (state !== 'completed' && state !== 'failed') return undefined
  const final = ((await queue.getJob(job.id!)) as TrialJob | undefined) ?? job
  return outcomeOf(final, state)
}

/** An evaluation's identity within a trial: the same one reported twice (replayed log, resumed run) counts once. */
const evalKey = (e: RunEvent) => (e._tag === 'EvalMetrics' ? `${e.stage ?? ''}@${e.step}` : undefined)

const WAITING_STATES = ['waiting', 'delayed', 'prioritized', 'waiting-children']

export function queueTrialRunner(opts: QueueExecutorOptions): Effect.Effect<TrialRunner, never, Scope.Scope> {
  return Effect.gen(function* () {
    const name = queueNameOf(opts.sweepId)
    const watches = new Map<string, Watch>()
    // Made here, released at the end; connected below, where an interruption (SIGTERM while
    // Redis is away) need not wait for it.
    const r = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const redis: Redis = redisClient(opts.connection)
        const queue = new Queue(name, { connection: opts.connection.options })
        // While Redis is unreachable ioredis reconnects for as long as it takes: errors are expected then.
        queue.on('error', () => undefined)
        redis.on('error', () => undefined)
        const eventsRedis = redisClient(opts.connection)
        eventsRedis.on('error', () => undefined)
        const events = readQueueEvents(eventsRedis, queue.toKey('events'), {
          progress: (jobId, p) => watches.get(jobId)?.progress(p),
          // 'failed' is also said of an attempt that will be retried: the job's state decides.
          ended: (jobId) => watches.get(jobId)?.check(),
        })
        events.ready.catch(() => undefined)
        const startedAt = new Date().toISOString()
        const entry = (): SweepEntry => ({ id: opts.sweepId, queue: name, name: opts.sweepName, dir: opts.sweepDir, status: 'running', startedAt, heartbeat: Date.now(), sweepHash: opts.sweepHash })
        return { queue, events, redis, timers: [] as ReturnType<typeof setInterval>[], entry }
      }),
      (r) =>
        Effect.promise(async () => {
          for (const t of r.timers) clearInterval(t)
          // Workers stop serving a sweep whose coordinator has stopped (its trials were stopped first);
          // the sweep command marks it done when it ended. Redis away: nothing to wait for.
          if (r.redis.status === 'ready') await atMost(putSweep(r.redis, { ...r.entry(), status: 'stopped' }), 3000)
          r.events.close()
          await atMost(r.queue.close(), 3000)
          r.redis.disconnect()
        }),
    )
    const { queue, redis } = r
    yield* Effect.promise(async () => {
      await r.events.ready
      await putSweep(redis, r.entry())
      r.timers.push(setInterval(() => void putSweep(redis, r.entry()).catch(() => undefined), 2000))
      r.timers.push(
        setInterval(() => {
          for (const w of watches.values()) w.check()
        }, Math.max(opts.pollMs * 5, 1000)),
      )
    })

    /** The job of a trial: which trial, its values, the sweep's hash; nothing else. */
    const jobData = (spec: TrialSpec): TrialJobData => ({ v: 1, sweep: opts.sweepId, trial: spec.trial, assignment: spec.assignment, sweepHash: opts.sweepHash, resume: spec.resume })
    const add = async (spec: TrialSpec, jobId: string) => {
      const data = jobData(spec)
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
            const p = parseOrUndefined(row, decodeTrialProgress, MAX_PROGRESS_BYTES)
            if (p) deliver(p.event)
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
          const state = await job.getState()
          // A job already there that is not this trial's (a fresh trial has none yet: someone else
          // put it there; or its values differ), or one still waiting that was queued for another
          // version of the sweep (another sweep.json), is replaced, unless a worker runs it now.
          const data = decodeOrUndefined(job.data, decodeTrialJob)
          const ours = data !== undefined && data.sweep === opts.sweepId && data.trial === spec.trial && canonicalKey(data.assignment) === canonicalKey(spec.assignment)
          const stale = data !== undefined && data.sweepHash !== opts.sweepHash && WAITING_STATES.includes(state)
          if (state !== 'active' && (!spec.resume || !ours || stale)) {
            try {
              await job.remove()
              return await add(spec, jobId)
            } catch {
              // taken by a worker meanwhile: attach to it below
            }
          }
          // A job from before a coordinator restart: catch up with the evaluations it reported.
          await catchUp()
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
          await atMost(attaching, 5000)
          if (finished) return
          // Redis away: the trial's worker stops it when it sees the sweep stopped (once Redis is back).
          if (redis.status !== 'ready') {
            finished = true
            watches.delete(jobId)
            return
          }
          try {
            const job = (await atMost(queue.getJob(jobId), 5000)) as TrialJob | undefined
            const state = job ? ((await atMost(job.getState(), 5000)) ?? 'unknown') : 'unknown'
            if (job && WAITING_STATES.includes(state)) {
              try {
                await job.remove()
                return
              } catch {
                // taken by a worker meanwhile: cancel it below
              }
            }
            if (state === 'completed' || state === 'failed' || state === 'unknown') return
            if ((await atMost(redis.set(cancelKey(jobId), '1', 'EX', 24 * 3600), 5000)) === undefined) return
            // No worker holds it (its worker died): nobody to wait for; whoever takes it next sees the flag.
            if ((await atMost(redis.exists(`${queue.toKey(jobId)}:lock`), 5000)) !== 1) return
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
