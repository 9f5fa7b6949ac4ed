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
    const q = yield* openSweepQueue(opts)
    yield* Effect.promise(() => q.register())
    return {
      run: (spec: TrialSpec, onEvent: (e: RunEvent) => void) =>
        Effect.async<TrialOutcome>((resume) => {
          const t = new QueuedTrial(q, opts, spec, onEvent, (o) => resume(Effect.succeed(o)))
          t.start()
          // Interrupted (pruned, or the sweep stops): its job removed, or its worker asked to stop it.
          return Effect.promise(() => t.stop())
        }),
    }
  })
}

/** The sweep's queue as the coordinator holds it: Redis, the BullMQ queue, its events, the trials watched, the registry entry; closed at the end. */
interface SweepQueue {
  readonly queue: Queue
  readonly redis: Redis
  readonly watches: Map<string, Watch>
  /** Registers the sweep (kept fresh every 2 s) once the queue's events are read, and starts checking the trials' jobs. */
  readonly register: () => Promise<void>
}

function openSweepQueue(opts: QueueExecutorOptions): Effect.Effect<SweepQueue, never, Scope.Scope> {
  const name = queueNameOf(opts.sweepId)
  // Made here, released at the end; connected in register(), where an interruption (SIGTERM while
  // Redis is away) need not wait for it.
  return Effect.acquireRelease(
    Effect.sync(() => {
      const watches = new Map<string, Watch>()
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
      const timers: ReturnType<typeof setInterval>[] = []
      const register = async () => {
        await events.ready
        await putSweep(redis, entry())
        timers.push(setInterval(() => void putSweep(redis, entry()).catch(() => undefined), 2000))
        timers.push(setInterval(() => watches.forEach((w) => w.check()), Math.max(opts.pollMs * 5, 1000)))
      }
      const close = async () => {
        for (const t of timers) clearInterval(t)
        // Workers stop serving a sweep whose coordinator has stopped (its trials were stopped first);
        // the sweep command marks it done when it ended. Redis away: nothing to wait for.
        if (redis.status === 'ready') await atMost(putSweep(redis, { ...entry(), status: 'stopped' }), 3000)
        events.close()
        await atMost(queue.close(), 3000)
        redis.disconnect()
      }
      return { queue, redis, watches, register, close }
    }),
    (q) => Effect.promise(q.close),
  )
}

/** One trial on the queue: its job added (or found), its events handed on, its end noticed, and stopped on request. */
class QueuedTrial {
  private readonly jobId: string
  private attempt = 0
  private finished = false
  private readonly seenEvals = new Set<string>()
  private settle: () => void = () => undefined
  private readonly over = new Promise<void>((r) => (this.settle = r))
  private checking = false
  // Until the job is on the queue (or while a stopped one is replaced by a new one with the same id), its absence means nothing.
  private attached = false
  private attaching: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly q: SweepQueue,
    private readonly opts: QueueExecutorOptions,
    private readonly spec: TrialSpec,
    private readonly onEvent: (e: RunEvent) => void,
    private readonly done: (o: TrialOutcome) => void,
  ) {
    this.jobId = jobIdOf(opts.sweepId, spec.trial)
  }

  start(): void {
    this.q.watches.set(this.jobId, { progress: (p) => this.progress(p), check: () => void this.check().catch(() => undefined) })
    this.attaching = this.attach().then(
      () => {
        this.attached = true
        // An end announced while it was being attached is not missed.
        void this.check().catch(() => undefined)
      },
      (e) => this.finish({ status: 'failed', error: `could not queue the trial: ${(e as Error).message}` }),
    )
  }

  private deliver(event: RunEvent): void {
    const k = evalKey(event)
    if (k !== undefined) {
      if (this.seenEvals.has(k)) return
      this.seenEvals.add(k)
    }
    this.onEvent(event)
  }

  private progress(p: TrialProgress): void {
    if (this.finished) return
    // Events of an earlier attempt (a worker that lost the job and came back) are not the trial's any more.
    if (p.attempt < this.attempt) return
    this.attempt = p.attempt
    this.deliver(p.event)
  }

  /** The evaluations the job's workers logged: what a coordinator that was away has missed. */
  private async catchUp(): Promise<void> {
    const { logs } = await this.q.queue.getJobLogs(this.jobId)
    for (const row of logs) {
      const p = parseOrUndefined(row, decodeTrialProgress, MAX_PROGRESS_BYTES)
      if (p) this.deliver(p.event)
    }
  }

  private finish(o: TrialOutcome): void {
    if (this.finished) return
    this.finished = true
    this.q.watches.delete(this.jobId)
    this.settle()
    this.done(o)
  }

  private async check(): Promise<void> {
    if (this.finished || this.checking || !this.attached) return
    this.checking = true
    try {
      const job = (await this.q.queue.getJob(this.jobId)) as TrialJob | undefined
      if (!job) return this.finish({ status: 'failed', error: `the job ${this.jobId} is gone from the queue` })
      const o = await endedOutcome(this.q.queue, job, await job.getState())
      if (o) {
        await this.catchUp()
        this.finish(o)
      }
    } finally {
      this.checking = false
    }
  }

  /** The job of a trial: which trial, its values, the sweep's hash; nothing else. */
  private async add(spec: TrialSpec): Promise<void> {
    const data: TrialJobData = { v: 1, sweep: this.opts.sweepId, trial: spec.trial, assignment: spec.assignment, sweepHash: this.opts.sweepHash, resume: spec.resume }
    // A cancel flag left from an earlier stop of this trial must not stop the new job.
    await this.q.redis.del(cancelKey(this.jobId))
    await this.q.queue.add('trial', data, { jobId: this.jobId, attempts: this.opts.retries + 1, backoff: { type: 'exponential', delay: this.opts.backoffMs }, removeOnComplete: false, removeOnFail: false })
  }

  private async attach(): Promise<void> {
    const { spec, opts } = this
    const job = (await this.q.queue.getJob(this.jobId)) as TrialJob | undefined
    if (!job) return this.add(spec)
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
        return await this.add(spec)
      } catch {
        // taken by a worker meanwhile: attach to it below
      }
    }
    // A job from before a coordinator restart: catch up with the evaluations it reported.
    await this.catchUp()
    if (state === 'failed' && job.failedReason === STOPPED_BY_COORDINATOR) {
      // Stopped with an earlier coordinator (Ctrl-C): run it again, from its checkpoint.
      await job.remove()
      return await this.add({ ...spec, resume: true })
    }
    const o = await endedOutcome(this.q.queue, job, state)
    if (o) this.finish(o)
  }

  /** Removes a job nobody started; else asks its worker to stop the trial cleanly, and waits until it has. */
  async stop(): Promise<void> {
    const { queue, redis } = this.q
    // A job being added now would otherwise run with nobody listening.
    await atMost(this.attaching, 5000)
    if (this.finished) return
    // Redis away: the trial's worker stops it when it sees the sweep stopped (once Redis is back).
    if (redis.status !== 'ready') {
      this.finished = true
      this.q.watches.delete(this.jobId)
      return
    }
    try {
      const job = (await atMost(queue.getJob(this.jobId), 5000)) as TrialJob | undefined
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
      if ((await atMost(redis.set(cancelKey(this.jobId), '1', 'EX', 24 * 3600), 5000)) === undefined) return
      // No worker holds it (its worker died): nobody to wait for; whoever takes it next sees the flag.
      if ((await atMost(redis.exists(`${queue.toKey(this.jobId)}:lock`), 5000)) !== 1) return
      await Promise.race([this.over, new Promise((r) => setTimeout(r, this.opts.stopTimeoutMs ?? 120_000))])
    } catch {
      // Redis unreachable: the trial's worker stops it when it sees the sweep stopped.
    } finally {
      this.finished = true
      this.q.watches.delete(this.jobId)
    }
  }
}

export function queueExecutorLayer(opts: QueueExecutorOptions): Layer.Layer<TrialExecutor> {
  return Layer.scoped(TrialExecutor, queueTrialRunner(opts))
}
