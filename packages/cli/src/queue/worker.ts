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
import type { RunEvent } from '@lorapipe/core'
import type { TrialOutcome, TrialSpec } from '@lorapipe/core/sweep/coordinator/executor.ts'
import { escapeControlLine } from '@lorapipe/core/text/control-chars.ts'
import { localTrialRunner } from '../sweep/local-executor.ts'
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
  return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const e = JSON.parse(line) as RunEvent
        return e._tag === 'EvalMetrics' ? [e] : []
      } catch {
        return []
      }
    })
}

export interface QueueWorker {
  /** Resolves when the worker has stopped (after `shutdown`). */
  readonly done: Promise<void>
  /** Stops every trial cleanly, puts its job back on the queue, and stops. */
  readonly shutdown: () => void
}

export function startQueueWorker(opts: QueueWorkerOptions): QueueWorker {
  const { connection, tuning, say, allowed } = opts
  const warn = opts.warn ?? say
  const loader = new SweepLoader()
  const id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  const redis: Redis = redisClient(connection)
  redis.on('error', () => undefined)
  const running = new Map<string, Running>()
  const startedAt = new Date().toISOString()
  let serving: SweepEntry | undefined
  let stopping = false
  let wake: () => void = () => undefined

  const heartbeat = () => {
    const w: WorkerEntry = { id, host: hostname(), pid: process.pid, concurrency: opts.concurrency, running: [...running.keys()], heartbeat: Date.now(), startedAt, ...(serving ? { sweep: serving.name } : {}) }
    return putWorker(redis, w).catch(() => undefined)
  }
  const beat = setInterval(() => void heartbeat(), Math.max(1000, tuning.pollMs * 2))

  /** Fails a job that this worker will not run: logged, and failed with the reason, never retried. */
  const refuse = (job: TrialJob, why: string): never => {
    warn(`job ${shownId(job.id)}: refused: ${escapeControlLine(why.split('\n')[0]!)}`)
    throw new UnrecoverableError(`refused by the worker on ${hostname()}: ${why}`)
  }

  const processorFor = (queueName: string) => async (job: TrialJob, token?: string): Promise<TrialOutcome> => {
    // The sweep as the registry says now (its coordinator may have been restarted meanwhile).
    const registered = await getSweep(redis, queueName)
    if (!registered) return refuse(job, 'its sweep has no well-formed entry in the registry')
    const admitted = await admitJob(job, registered, allowed, loader)
    if (isRefusal(admitted)) return refuse(job, admitted.refused)
    const { spec, cwd } = admitted
    const jobId = job.id!
    const name = trialName(spec)
    if ((await redis.get(cancelKey(jobId))) !== null) {
      await redis.del(cancelKey(jobId))
      throw new UnrecoverableError(STOPPED_BY_COORDINATOR)
    }
    if (stopping) {
      // Fetched as this worker began to stop: back to wait untouched, for another worker.
      await atMost(job.moveToWait(token), 5000)
      throw new WaitingError()
    }
    const attempt = job.attemptsStarted
    say(`${name}: started (attempt ${attempt}${existsSync(join(spec.runDir, 'run.json')) ? ', continuing its run folder' : ''})`)

    // Events go out in order; Progress (one a step) at most 4 a second, the latest kept for later.
    let chain: Promise<unknown> = Promise.resolve()
    let pendingStep: RunEvent | undefined
    let lastStepSent = 0
    let lost = false
    const send = (e: RunEvent) => {
      // Only what the wire format carries: the coordinator refuses anything else.
      const event = wireEvent(e)
      if (!event) return
      const p: TrialProgress = { attempt, event }
      chain = chain
        .then(async () => {
          if (lost) return
          await job.updateProgress(p as unknown as object)
          if (event._tag === 'EvalMetrics') await job.log(JSON.stringify(p))
        })
        .catch(() => undefined)
    }
    const onEvent = (event: RunEvent) => {
      if (event._tag === 'Progress') {
        const now = Date.now()
        if (now - lastStepSent < 250) return void (pendingStep = event)
        lastStepSent = now
        pendingStep = undefined
        return send(event)
      }
      if (pendingStep) send(pendingStep)
      pendingStep = undefined
      send(event)
    }

    // A run folder that another attempt started: its evaluations are reported again (the
    // coordinator counts each once), since those made after that attempt's worker died reached nobody.
    if (existsSync(join(spec.runDir, 'events.jsonl'))) for (const e of earlierEvaluations(spec.runDir)) send(e)

    // The trial runs exactly as the local executor runs it: `lorapipe run <base> --set ... --out <run folder>`.
    // The trial needs no Redis: the queue's password stays with the worker.
    const runner = localTrialRunner({ concurrency: opts.concurrency, leash: { timeoutMs: tuning.leashMs }, cwd, env: { [PASSWORD_ENV]: undefined } })
    const fiber = Effect.runFork(runner.run(spec, onEvent))
    const entry: Running = {
      stop: (why) => {
        if (entry.why) return
        entry.why = why
        // A worker that lost the job says nothing more about it.
        if (why === 'lost') lost = true
        Effect.runFork(Fiber.interrupt(fiber))
      },
    }
    running.set(jobId, entry)
    void heartbeat()
    const stopFor = entry.stop
    const poll = setInterval(() => {
      redis
        .get(cancelKey(jobId))
        .then((v) => {
          if (v !== null) stopFor('cancelled')
        })
        .catch(() => undefined)
    }, tuning.pollMs)
    if (stopping) stopFor('shutdown')
    let outcome: TrialOutcome | undefined
    try {
      const exit = await Effect.runPromise(Fiber.await(fiber))
      outcome = exit._tag === 'Success' ? exit.value : undefined
      if (pendingStep) send(pendingStep)
      await chain
    } finally {
      clearInterval(poll)
      running.delete(jobId)
      void heartbeat()
    }

    // Only the holder of the job's lock may say how it ended; a worker that froze past its lock
    // has had the trial taken over by another, and its result is not the trial's.
    const holds = !lost && (await atMost(job.extendLock(token!, tuning.lockMs), 5000)) === 1
    if (!holds) {
      lost = true
      say(`${name}: this worker lost the job's lock (it was frozen or cut off from Redis for over ${tuning.lockMs} ms); another worker has the trial, so its result is not reported`)
      throw new Error('lost the lock: the trial belongs to another worker now')
    }
    if (entry.why === 'cancelled') {
      await redis.del(cancelKey(jobId)).catch(() => undefined)
      say(`${name}: stopped by the coordinator`)
      throw new UnrecoverableError(STOPPED_BY_COORDINATOR)
    }
    if (entry.why === 'shutdown') {
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

  const queues = new Map<string, Queue>()
  const queueOf = (name: string) => {
    let q = queues.get(name)
    if (!q) queues.set(name, (q = new Queue(name, { connection: redis })))
    return q
  }
  /** Why each sweep is not served, as last said (said again only when the reason changes). */
  const notServing = new Map<string, string>()
  /** Whether this worker serves `s` (admission.ts); says once why not. */
  const servable = async (s: SweepEntry): Promise<boolean> => {
    const r = await admitSweep(s, allowed, loader)
    if (!isRefusal(r)) {
      notServing.delete(s.queue)
      return true
    }
    if (notServing.get(s.queue) !== r.refused) say(`not serving sweep ${escapeControlLine(s.name)} (${escapeControlLine(s.dir)}): ${escapeControlLine(r.refused.split('\n')[0]!)}`)
    notServing.set(s.queue, r.refused)
    return false
  }

  /**
   * The oldest running sweep with trials to take; else (`watch`) the oldest with trials running
   * elsewhere: a worker on its queue notices when one of them stalls (its worker died) and takes
   * it over, which no worker would do if all of them only waited for new trials. Only sweeps this
   * worker serves count.
   */
  const pick = async (watch = false): Promise<SweepEntry | undefined> => {
    let busy: SweepEntry | undefined
    for (const s of (await listSweeps(redis)).filter((x) => x.status === 'running')) {
      const c = await queueOf(s.queue).getJobCounts('waiting', 'prioritized', 'delayed', 'active')
      const waiting = (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) > 0
      if (!waiting && ((c.active ?? 0) === 0 || busy)) continue
      if (!(await servable(s))) continue
      if (waiting) return s
      busy ??= s
    }
    return watch ? busy : undefined
  }

  /** Whether to keep serving `s`: it runs, and it has work here, or waiting, or running elsewhere (whose stalls this worker notices). */
  const keepServing = async (s: SweepEntry): Promise<boolean> => {
    if (running.size > 0) return true
    const now = await getSweep(redis, s.queue)
    if (!now || now.status !== 'running') return false
    const c = await queueOf(s.queue).getJobCounts('waiting', 'prioritized', 'delayed', 'active')
    if ((c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) > 0) return true
    if ((c.active ?? 0) === 0) return false
    // Only active jobs left, on other workers: stay, unless another sweep has trials waiting.
    const other = await pick()
    return other === undefined || other.queue === s.queue
  }

  const serve = async (s: SweepEntry) => {
    serving = s
    say(`serving sweep ${s.name} (${s.dir})`)
    const w = new Worker<unknown, TrialOutcome, string>(s.queue, processorFor(s.queue), {
      connection: connection.options,
      concurrency: opts.concurrency,
      lockDuration: tuning.lockMs,
      stalledInterval: tuning.stalledMs,
      maxStalledCount: tuning.maxStalled,
      drainDelay: Math.max(1, Math.round(tuning.pollMs / 1000)),
    })
    w.on('error', () => undefined)
    w.on('lockRenewalFailed', (ids) => {
      for (const jid of ids) running.get(jid)?.stop('lost')
    })
    try {
      while (!stopping) {
        await Promise.race([sleep(tuning.pollMs), new Promise<void>((r) => (wake = r))])
        if (stopping) break
        if (!(await keepServing(s).catch(() => true))) break
      }
    } finally {
      // Trials are stopped first (on shutdown), so that close() finds their jobs settled. What is
      // left then needs Redis (each step bounded): with Redis away, close() is not waited on for ever.
      // The BullMQ worker stops taking jobs before the trials stop: a job put back on the queue
      // is for another worker, not fetched again by this one on its way out.
      const closing = w.close().then(() => true)
      for (const r of running.values()) r.stop('shutdown')
      while (running.size > 0) await sleep(100)
      if ((await atMost(closing, 15_000)) !== true) await atMost(w.close(true), 2000)
      serving = undefined
    }
  }

  const done = (async () => {
    await heartbeat()
    let idleSaid = false
    while (!stopping) {
      const s = await pick(true).catch(() => undefined)
      if (s) {
        idleSaid = false
        await serve(s)
        continue
      }
      if (!idleSaid) say('waiting for a sweep with trials to run')
      idleSaid = true
      await Promise.race([sleep(tuning.pollMs), new Promise<void>((r) => (wake = r))])
    }
    clearInterval(beat)
    await atMost(removeWorker(redis, id), 2000)
    redis.disconnect()
  })()

  return {
    done,
    shutdown: () => {
      if (stopping) return
      stopping = true
      for (const r of running.values()) r.stop('shutdown')
      wake()
    },
  }
}
