// The worker's side of a distributed sweep (`lorapipe worker --queue URL`): it serves the oldest
// running sweep that has trials waiting, runs each trial it takes as an ordinary `lorapipe run` in
// a child process (the local runner, on a leash: the trial stops itself when this process dies or
// freezes) inside the sweep folder that all machines share, and reports through BullMQ: run events
// as job progress (tagged with the attempt), evaluations also in the job's log, the result when
// the trial ends. A result is reported only while this worker still holds the job's lock: a worker
// that froze past its lock has had its trial taken over, and says nothing.
//
// Nothing read from Redis is trusted (admission.ts): a sweep is served only from the worker's
// --allow folders, and a job only says which trial to run with which values; the worker checks
// them against the sweep's own files and builds the trial itself. A refused job fails at once
// (no retry) with the reason, which the worker also logs, and runs nothing.
import { existsSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import * as Effect from 'effect/Effect'
import * as Fiber from 'effect/Fiber'
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Diagnostic } from '@lorapipe/core/diagnostics.ts'
import type { RunEvent } from '@lorapipe/core/events.ts'
import type { ValidatedPipeline } from '@lorapipe/core/pipeline/types.ts'
import type { TrialOutcome, TrialSpec } from '@lorapipe/core/sweep/coordinator/executor.ts'
import { RUN_EVENTS, RUN_RECORD } from '@lorapipe/core/run/folder.ts'
import { localTrialRunner } from '@lorapipe/core/sweep/executors/local.ts'
import { escapeControlLine } from '@lorapipe/core/text/control-chars.ts'
import { admitJob, admitSweep, isRefusal, SweepLoader } from './admission.ts'
import type { AllowedFolders } from './allowed.ts'
import { PASSWORD_ENV, type QueueConnection, redisClient } from './connection.ts'
import { STOPPED_BY_COORDINATOR, type TrialProgress, wireEvent } from './job.ts'
import { cancelKey, getSweep, listSweeps, putWorker, removeWorker, type SweepEntry, type WorkerEntry } from './registry.ts'
import type { QueueTuning } from './tuning.ts'

export interface QueueWorkerOptions {
  readonly connection: QueueConnection
  readonly concurrency: number
  readonly tuning: QueueTuning
  /** The folders whose sweeps (and sweep files, pipelines, stage modules) this worker may use. */
  readonly allowed: AllowedFolders
  /** Where the worker says what it does (one line each). */
  readonly say: (line: string) => void
  /** Where it says what it refused (one line each; shown even when it is otherwise quiet); default: `say`. */
  readonly warn?: (line: string) => void
  /** The lorapipe entry script that runs each trial. */
  readonly entry: string
  /** The checks `run` makes of a trial's files before it writes anything (the runner's preflight). */
  readonly checkFiles?: (pipeline: ValidatedPipeline) => Promise<readonly Diagnostic[]>
}

// What a job holds is decoded by admitJob, never used as it is.
type TrialJob = Job<unknown, TrialOutcome, string>

/** A trial this worker runs: how to stop it, and why it was stopped. */
interface Running {
  /** Stops the trial (once; the first reason wins). */
  readonly stop: (why: 'cancelled' | 'lost' | 'shutdown') => void
  why?: 'cancelled' | 'lost' | 'shutdown'
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const trialName = (spec: TrialSpec) => `trial ${String(spec.trial).padStart(4, '0')} of ${spec.sweep}`
/** Waits for `p`, at most `ms`: a step that needs Redis must not hold up a shutdown while Redis is away. */
const atMost = <T>(p: Promise<T>, ms: number): Promise<T | undefined> => Promise.race([p.catch(() => undefined), sleep(ms).then(() => undefined)])
/** A job id as the worker shows it: one line, clipped (it may come from anyone). */
const shownId = (id: string | undefined) => escapeControlLine(id === undefined ? '(no id)' : id.length > 120 ? `${id.slice(0, 120)}…` : id)

/** The evaluations recorded in a run folder's events.jsonl (a line cut short by a kill is skipped). */
function earlierEvaluations(runDir: string): RunEvent[] {
  return readFileSync(join(runDir, RUN_EVENTS), 'utf8').split('\n').flatMap((line) => {
    try {
      const e = JSON.parse(line) as RunEvent
      return e._tag === 'EvalMetrics' ? [e] : []
    } catch {
      return []
    }
  })
}

/** A trial's run events to its job, in order: Progress (one a step) at most 4 a second, the latest kept for later; nothing once the job is lost. */
function jobReporter(job: TrialJob, attempt: number) {
  let chain: Promise<unknown> = Promise.resolve()
  let pendingStep: RunEvent | undefined
  let lastStepSent = 0
  const r = {
    lost: false,
    send: (e: RunEvent) => {
      // Only what the wire format carries: the coordinator refuses anything else.
      const event = wireEvent(e)
      if (!event) return
      const p: TrialProgress = { attempt, event }
      chain = chain
        .then(async () => {
          if (r.lost) return
          await job.updateProgress(p as unknown as object)
          if (event._tag === 'EvalMetrics') await job.log(JSON.stringify(p))
        })
        .catch(() => undefined)
    },
    onEvent: (event: RunEvent) => {
      if (event._tag === 'Progress') {
        const now = Date.now()
        if (now - lastStepSent < 250) return void (pendingStep = event)
        lastStepSent = now
        pendingStep = undefined
        return r.send(event)
      }
      if (pendingStep) r.send(pendingStep)
      pendingStep = undefined
      r.send(event)
    },
    /** Sends the step held back, and waits until everything sent has gone. */
    flush: () => {
      if (pendingStep) r.send(pendingStep)
      return chain
    },
  }
  return r
}
type Reporter = ReturnType<typeof jobReporter>

export interface QueueWorker {
  /** Resolves when the worker has stopped (after `shutdown`). */
  readonly done: Promise<void>
  /** Stops every trial cleanly, puts its job back on the queue, and stops. */
  readonly shutdown: () => void
}

export function startQueueWorker(opts: QueueWorkerOptions): QueueWorker {
  const w = new WorkerLoop(opts)
  return { done: w.serveSweeps(), shutdown: () => w.shutdown() }
}

/** The worker: which sweep it serves, the trials it runs, and its entry in the registry. */
class WorkerLoop {
  private readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  private readonly redis: Redis
  private readonly warn: (line: string) => void
  private readonly loader = new SweepLoader()
  private readonly running = new Map<string, Running>()
  private readonly startedAt = new Date().toISOString()
  private readonly queues = new Map<string, Queue>()
  /** Why each sweep is not served, as last said (said again only when the reason changes). */
  private readonly notServing = new Map<string, string>()
  private readonly beat: ReturnType<typeof setInterval>
  private serving: SweepEntry | undefined
  private stopping = false
  private wake: () => void = () => undefined

  constructor(private readonly opts: QueueWorkerOptions) {
    this.warn = opts.warn ?? opts.say
    this.redis = redisClient(opts.connection)
    this.redis.on('error', () => undefined)
    this.beat = setInterval(() => void this.heartbeat(), Math.max(1000, opts.tuning.pollMs * 2))
  }

  /** Serves one sweep after another until shut down: the oldest running one with trials to take, else one whose trials run elsewhere. */
  async serveSweeps(): Promise<void> {
    await this.heartbeat()
    let idleSaid = false
    while (!this.stopping) {
      const s = await this.pick(true).catch(() => undefined)
      if (s) {
        idleSaid = false
        await this.serve(s)
        continue
      }
      if (!idleSaid) this.opts.say('waiting for a sweep with trials to run')
      idleSaid = true
      await this.pause()
    }
    clearInterval(this.beat)
    await atMost(removeWorker(this.redis, this.id), 2000)
    this.redis.disconnect()
  }

  shutdown(): void {
    if (this.stopping) return
    this.stopping = true
    for (const r of this.running.values()) r.stop('shutdown')
    this.wake()
  }

  private pause = () => Promise.race([sleep(this.opts.tuning.pollMs), new Promise<void>((r) => (this.wake = r))])

  private heartbeat() {
    const { concurrency } = this.opts
    const w: WorkerEntry = { id: this.id, host: hostname(), pid: process.pid, concurrency, running: [...this.running.keys()], heartbeat: Date.now(), startedAt: this.startedAt, ...(this.serving ? { sweep: this.serving.name } : {}) }
    return putWorker(this.redis, w).catch(() => undefined)
  }

  private queueOf(name: string): Queue {
    let q = this.queues.get(name)
    if (!q) this.queues.set(name, (q = new Queue(name, { connection: this.redis })))
    return q
  }

  /** Whether this worker serves `s` (admission.ts); says once why not. */
  private async servable(s: SweepEntry): Promise<boolean> {
    const r = await admitSweep(s, this.opts.allowed, this.loader)
    if (!isRefusal(r)) {
      this.notServing.delete(s.queue)
      return true
    }
    if (this.notServing.get(s.queue) !== r.refused) this.opts.say(`not serving sweep ${escapeControlLine(s.name)} (${escapeControlLine(s.dir)}): ${escapeControlLine(r.refused.split('\n')[0]!)}`)
    this.notServing.set(s.queue, r.refused)
    return false
  }

  /**
   * The oldest running sweep with trials to take; else (`watch`) the oldest with trials running
   * elsewhere: a worker on its queue notices when one of them stalls (its worker died) and takes
   * it over, which no worker would do if all of them only waited for new trials. Only sweeps this
   * worker serves count.
   */
  private async pick(watch = false): Promise<SweepEntry | undefined> {
    let busy: SweepEntry | undefined
    for (const s of (await listSweeps(this.redis)).filter((x) => x.status === 'running')) {
      const c = await this.queueOf(s.queue).getJobCounts('waiting', 'prioritized', 'delayed', 'active')
      const waiting = (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) > 0
      if (!waiting && ((c.active ?? 0) === 0 || busy)) continue
      if (!(await this.servable(s))) continue
      if (waiting) return s
      busy ??= s
    }
    return watch ? busy : undefined
  }

  /** Whether to keep serving `s`: it runs, and it has work here, or waiting, or running elsewhere (whose stalls this worker notices). */
  private async keepServing(s: SweepEntry): Promise<boolean> {
    if (this.running.size > 0) return true
    const now = await getSweep(this.redis, s.queue)
    if (!now || now.status !== 'running') return false
    const c = await this.queueOf(s.queue).getJobCounts('waiting', 'prioritized', 'delayed', 'active')
    if ((c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) > 0) return true
    if ((c.active ?? 0) === 0) return false
    // Only active jobs left, on other workers: stay, unless another sweep has trials waiting.
    const other = await this.pick()
    return other === undefined || other.queue === s.queue
  }

  /** Takes the trials of `s` with a BullMQ worker for as long as it is worth serving. */
  private async serve(s: SweepEntry): Promise<void> {
    const { tuning } = this.opts
    this.serving = s
    this.opts.say(`serving sweep ${s.name} (${s.dir})`)
    const w = new Worker<unknown, TrialOutcome, string>(s.queue, (job, token) => this.runJob(s.queue, job, token), {
      connection: this.opts.connection.options,
      concurrency: this.opts.concurrency,
      lockDuration: tuning.lockMs,
      stalledInterval: tuning.stalledMs,
      maxStalledCount: tuning.maxStalled,
      drainDelay: Math.max(1, Math.round(tuning.pollMs / 1000)),
    })
    w.on('error', () => undefined)
    // An attempt that ended on an error of its own (not a refusal, not a stop: those say so) is said
    // too, so that no attempt of a job is used up without a word.
    w.on('failed', (job, err) => {
      if (!job || err instanceof UnrecoverableError || err instanceof WaitingError || err.name === 'UnrecoverableError') return
      this.opts.say(`job ${shownId(job.id)}: attempt ${job.attemptsStarted} ended: ${escapeControlLine(String(err.message).split('\n')[0]!)}`)
    })
    w.on('lockRenewalFailed', (ids) => {
      for (const jid of ids) this.running.get(jid)?.stop('lost')
    })
    try {
      while (!this.stopping) {
        await this.pause()
        if (this.stopping) break
        if (!(await this.keepServing(s).catch(() => true))) break
      }
    } finally {
      // Trials are stopped first (on shutdown), so that close() finds their jobs settled. What is
      // left then needs Redis (each step bounded): with Redis away, close() is not waited on for ever.
      // The BullMQ worker stops taking jobs before the trials stop: a job put back on the queue
      // is for another worker, not fetched again by this one on its way out.
      const closing = w.close().then(() => true)
      for (const r of this.running.values()) r.stop('shutdown')
      while (this.running.size > 0) await sleep(100)
      if ((await atMost(closing, 15_000)) !== true) await atMost(w.close(true), 2000)
      this.serving = undefined
    }
  }

  /** Fails a job that this worker will not run: logged, and failed with the reason, never retried. */
  private refuse(job: TrialJob, why: string): never {
    this.warn(`job ${shownId(job.id)}: refused: ${escapeControlLine(why.split('\n')[0]!)}`)
    throw new UnrecoverableError(`refused by the worker on ${hostname()}: ${why}`)
  }

  /** One job of the sweep on `queueName`: admitted, its trial run, and how it ended said to the queue. */
  private async runJob(queueName: string, job: TrialJob, token?: string): Promise<TrialOutcome> {
    // The sweep as the registry says now (its coordinator may have been restarted meanwhile).
    const registered = await getSweep(this.redis, queueName)
    if (!registered) return this.refuse(job, 'its sweep has no well-formed entry in the registry')
    const admitted = await admitJob(job, registered, this.opts.allowed, this.loader)
    if (isRefusal(admitted)) return this.refuse(job, admitted.refused)
    const { spec, cwd } = admitted
    const jobId = job.id!
    if ((await this.redis.get(cancelKey(jobId))) !== null) {
      await this.redis.del(cancelKey(jobId))
      throw new UnrecoverableError(STOPPED_BY_COORDINATOR)
    }
    if (this.stopping) {
      // Fetched as this worker began to stop: back to wait untouched, for another worker.
      await atMost(job.moveToWait(token), 5000)
      throw new WaitingError()
    }
    const attempt = job.attemptsStarted
    this.opts.say(`${trialName(spec)}: started (attempt ${attempt}${existsSync(join(spec.runDir, RUN_RECORD)) ? ', continuing its run folder' : ''})`)
    const reporter = jobReporter(job, attempt)
    // A run folder that another attempt started: its evaluations are reported again (the
    // coordinator counts each once), since those made after that attempt's worker died reached nobody.
    if (existsSync(join(spec.runDir, RUN_EVENTS))) for (const e of earlierEvaluations(spec.runDir)) reporter.send(e)
    return this.settle(job, token, { spec, attempt, reporter, ...(await this.runTrial(jobId, spec, cwd, reporter)) })
  }

  /** Runs the trial exactly as the local executor runs it (its run folder written with its pipeline, then `lorapipe run --resume <run folder>`), until it ends or is stopped. */
  private async runTrial(jobId: string, spec: TrialSpec, cwd: string, reporter: Reporter): Promise<{ outcome?: TrialOutcome; why?: Running['why'] }> {
    // The trial needs no Redis: the queue's password stays with the worker.
    const runner = localTrialRunner({
      concurrency: this.opts.concurrency,
      entry: this.opts.entry,
      ...(this.opts.checkFiles ? { checkFiles: this.opts.checkFiles } : {}),
      leash: { timeoutMs: this.opts.tuning.leashMs },
      cwd,
      env: { [PASSWORD_ENV]: undefined },
    })
    const fiber = Effect.runFork(runner.run(spec, reporter.onEvent))
    const entry: Running = {
      stop: (why) => {
        if (entry.why) return
        entry.why = why
        // A worker that lost the job says nothing more about it.
        if (why === 'lost') reporter.lost = true
        Effect.runFork(Fiber.interrupt(fiber))
      },
    }
    this.running.set(jobId, entry)
    void this.heartbeat()
    const poll = setInterval(() => void this.redis.get(cancelKey(jobId)).then((v) => v !== null && entry.stop('cancelled'), () => undefined), this.opts.tuning.pollMs)
    if (this.stopping) entry.stop('shutdown')
    try {
      const exit = await Effect.runPromise(Fiber.await(fiber))
      await reporter.flush()
      return { ...(exit._tag === 'Success' ? { outcome: exit.value } : {}), ...(entry.why ? { why: entry.why } : {}) }
    } finally {
      clearInterval(poll)
      this.running.delete(jobId)
      void this.heartbeat()
    }
  }

  /** How the trial ended, said to the queue: only by the holder of the job's lock. */
  private async settle(job: TrialJob, token: string | undefined, t: { spec: TrialSpec; attempt: number; reporter: Reporter; outcome?: TrialOutcome; why?: Running['why'] }): Promise<TrialOutcome> {
    const { say, tuning } = this.opts
    const { spec, attempt, reporter, outcome, why } = t
    const name = trialName(spec)
    // A worker that froze past its lock has had the trial taken over by another, and its result is not the trial's.
    const holds = !reporter.lost && (await atMost(job.extendLock(token!, tuning.lockMs), 5000)) === 1
    if (!holds) {
      reporter.lost = true
      say(`${name}: this worker lost the job's lock (it was frozen or cut off from Redis for over ${tuning.lockMs} ms); another worker has the trial, so its result is not reported`)
      throw new Error('lost the lock: the trial belongs to another worker now')
    }
    if (why === 'cancelled') {
      await this.redis.del(cancelKey(job.id!)).catch(() => undefined)
      say(`${name}: stopped by the coordinator`)
      throw new UnrecoverableError(STOPPED_BY_COORDINATOR)
    }
    if (why === 'shutdown') {
      // Nothing finished half-way: the trial stopped cleanly at a checkpoint, and its job goes back
      // to wait (with Redis away, its lock expires and another worker takes it over).
      await atMost(job.moveToWait(token), 5000)
      say(`${name}: stopped cleanly; back on the queue`)
      throw new WaitingError()
    }
    if (!outcome) throw new Error('the trial runner ended without an outcome')
    if (outcome.status === 'succeeded') {
      say(`${name}: succeeded`)
      return outcome
    }
    if (outcome.status === 'interrupted') {
      say(`${name}: interrupted from outside the worker; it will be continued from its checkpoint`)
      throw new Error('the trial was interrupted from outside its worker (SIGTERM); it continues from its last checkpoint')
    }
    say(`${name}: failed (attempt ${attempt} of ${job.opts.attempts ?? 1}): ${outcome.error.split('\n')[0]}`)
    throw new Error(outcome.error)
  }
}
