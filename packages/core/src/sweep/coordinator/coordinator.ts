// Runs a sweep: keeps `concurrency` trials running, each started through the TrialExecutor with an
// assignment from the sampler; feeds every evaluation's objective to the pruner and stops the
// trials it prunes; records everything in sweep.jsonl before acting on it; stops at run_cap, when
// the space is exhausted, when the target is reached or after too many failures in a row; and
// publishes SweepEvents. On resume the search and early-stopping state is rebuilt from the record:
// finished trials are kept, unfinished ones continue from their run folders, and the sampler,
// deterministic in (seed, history), draws the same next trials.
//
// The sampler is driven through the ask/tell search (search/search.ts), as a user's own loop
// drives it: each assignment is asked, each evaluation reported and each end told as the record
// gets it, and on resume the record's trials are added to a fresh search in order.
//
// All decisions happen in one fiber that takes messages (trial events, trial ends) from a queue in
// order, so the record is a faithful log of what the coordinator saw and did.
import * as Cause from 'effect/Cause'
import * as Data from 'effect/Data'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Fiber from 'effect/Fiber'
import * as Queue from 'effect/Queue'
import { dirname, join } from 'node:path'
import { LockBusy, tryAcquireLock, type LockHandle } from '../../fs/lock.ts'
import { describeError } from '../../graph/run.ts'
import type { PipelineInvalid } from '../../diagnostics.ts'
import { now, type RunEvent } from '../../events.ts'
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import type { SweepEvent, SweepEventSink, SweepStatus } from '../events.ts'
import type { Assignment, Goal, Pruner, Sampler, SearchSpace, TrialView } from '../model.ts'
import { openSearch, SearchExhausted, type Search } from '../search/search.ts'
import { paramsOf, assignmentOf } from '../search/space.ts'
import { writeBestPipeline } from './best.ts'
import { TrialExecutor, type TrialOutcome, type TrialRunner, type TrialSpec } from './executor.ts'
import { leaderboard, writeLeaderboard, type Leaderboard } from './leaderboard.ts'
import { evaluationsOnFile, objectiveIn, objectiveOf } from './objective.ts'
import { openRecord, readRecord, type RecordEntry, type RecordWriter } from './record.ts'
import { RECORD_FILE, SWEEP_LOCK, trialRunDir } from '../folder/layout.ts'
import { applyEntry, bestTrial, better, durationOf, history, replay, viewOf, type SweepState, type TrialInfo } from './state.ts'
import { noRoomIn, savedText, storageFailure, storageFailureIn, SweepFolderUnwritable, type StorageFailure } from './unwritable.ts'

export { SweepFolderUnwritable } from './unwritable.ts'

export interface ObjectiveMetric {
  /** `eval_accuracy`, or `<stage>.eval_accuracy` for a multi-stage base. */
  readonly name: string
  readonly goal: Goal
  /** Stop the sweep once a completed trial reaches this value. */
  readonly target?: number | undefined
  /** The stage whose evaluations count (as the sweep file loader resolved it); else read from `name`. */
  readonly stage?: string | undefined
  /** The key in its EvalMetrics (`accuracy`); else read from `name`. */
  readonly key?: string | undefined
}

export interface SweepPlan {
  /** The sweep's id: its folder's name, unique enough to key jobs by. */
  readonly sweep: string
  /** The sweep file (absolute), for messages. */
  readonly file: string
  /** The sweep folder: record, trials/, leaderboard, best.yaml. */
  readonly dir: string
  readonly method: string
  readonly space: SearchSpace
  readonly sampler: Sampler
  readonly pruner?: Pruner | undefined
  readonly metric: ObjectiveMetric
  readonly runCap?: number | undefined
  /** Trials the sweep will run at most (the grid's size), for progress. */
  readonly totalTrials?: number | undefined
  /** Stop the sweep after this many trials failed in a row. */
  readonly maxConsecutiveFailures?: number | undefined
  readonly concurrency: number
  /** The base pipeline (absolute); relative paths in trials' pipelines are relative to its folder. */
  readonly base: string
  /** An assignment's trial pipeline (../trial.ts): the base with its values, validated. */
  readonly trialPipeline: (assignment: Assignment) => Effect.Effect<ValidatedPipeline, PipelineInvalid>
  /** The command line's `--set` arguments the base was loaded with, for each trial's record. */
  readonly sets?: readonly string[]
  readonly sinks?: readonly SweepEventSink[]
}

export interface SweepResult {
  readonly status: SweepStatus
  readonly reason: string
  readonly best?: { readonly trial: number; readonly value: number; readonly assignment: Assignment; readonly runDir: string }
  /** best.yaml, when there is a best trial and its pipeline validated. */
  readonly bestFile?: string
  readonly leaderboard: Leaderboard
  readonly dir: string
}

/** Another coordinator is running this sweep: two would sample and record over each other. */
export class SweepFolderBusy extends Data.TaggedError('SweepFolderBusy')<{ readonly dir: string; readonly holder: string }> {
  override get message(): string {
    return `the sweep in ${this.dir} is being run by ${this.holder}`
  }
  get hint(): string {
    return `wait for it to finish (or stop it); if no such process is running, delete ${join(this.dir, SWEEP_LOCK)}`
  }
}

/**
 * Takes the sweep folder's lock: one coordinator per sweep folder. A killed one leaves the file,
 * but its process is dead, so the next takes the lock over (on another host: after 10 minutes
 * without a heartbeat).
 */
export function lockSweepFolder(dir: string): LockHandle | SweepFolderBusy {
  const lock = tryAcquireLock(join(dir, SWEEP_LOCK), { staleMs: 10 * 60_000, trustLocalPid: true })
  return lock instanceof LockBusy ? new SweepFolderBusy({ dir, holder: lock.holder }) : lock
}

type Message =
  | { readonly kind: 'event'; readonly trial: number; readonly event: RunEvent }
  | { readonly kind: 'done'; readonly trial: number; readonly exit: Exit.Exit<TrialOutcome> }

interface Running {
  readonly fiber: Fiber.RuntimeFiber<TrialOutcome>
  /** Set when the coordinator stopped it (pruned): why. */
  pruned?: string
}

/** The sweep's record (for `--resume` checks and tests): entries and the state they make. */
export function readSweepState(dir: string): SweepState {
  return replay(readRecord(join(dir, RECORD_FILE)).entries)
}

export function runSweep(plan: SweepPlan): Effect.Effect<SweepResult, SweepFolderBusy | SweepFolderUnwritable, TrialExecutor> {
  // What the record holds, for the message when a write of the folder fails (known once it is read).
  let sweep: Coordinator | undefined
  return Effect.gen(function* () {
    const executor = yield* TrialExecutor
    // One coordinator per sweep folder, for the whole sweep.
    const lock = lockSweepFolder(plan.dir)
    if (lock instanceof SweepFolderBusy) return yield* Effect.fail(lock)
    yield* Effect.addFinalizer(() => Effect.sync(() => lock.release()))
    sweep = new Coordinator(plan, executor)
    yield* sweep.openRecord()
    sweep.announce()
    if (sweep.state.ended) return yield* sweep.results(sweep.state.ended.status, `the sweep had already ended: ${sweep.state.ended.reason}`)
    if (sweep.unreadable) return yield* sweep.results('failed', sweep.unreadable)
    sweep.settleUnfinished()
    yield* sweep.runTrials()
    return yield* sweep.conclude()
  }).pipe(Effect.catchAllDefect((d) => writeFailed(plan, sweep, d)), Effect.scoped)
}

/** The folder could not be written: `f` as SweepFolderUnwritable, saying what the record holds. */
const unwritable = (plan: SweepPlan, sweep: Coordinator | undefined, f: StorageFailure) =>
  new SweepFolderUnwritable({ dir: plan.dir, path: f.path ?? plan.dir, errno: f.code, saved: savedText(sweep ? [...sweep.state.trials.values()] : []) })

/** A write of the sweep folder that threw (a full disk...) becomes SweepFolderUnwritable; any other defect stays one. */
function writeFailed(plan: SweepPlan, sweep: Coordinator | undefined, defect: unknown) {
  const f = storageFailure(defect)
  return f ? Effect.fail(unwritable(plan, sweep, f)) : Effect.die(defect)
}

/** One run of the coordinator: the state the record makes, the trials running, and why it stops. */
class Coordinator {
  readonly started = Date.now()
  /** What the record holds (replayed on resume), kept up to date with each entry recorded. */
  readonly state: SweepState
  private readonly resumed: boolean
  private readonly goal: Goal
  private readonly objective: ReturnType<typeof objectiveOf>
  private writer?: RecordWriter
  private mailbox?: Queue.Queue<Message>
  private readonly running = new Map<number, Running>()
  private readonly toResume: TrialInfo[] = []
  private stop?: { status: Exclude<SweepStatus, 'interrupted'>; reason: string }
  private exhausted?: string
  private interruptedTrial?: number
  /** The sampler, driven through the ask/tell search as a user's own loop drives it. */
  private readonly search: Search
  /** Why the record cannot be resumed (its trials do not fit the sweep's parameters), if so. */
  readonly unreadable?: string

  constructor(private readonly plan: SweepPlan, private readonly executor: TrialRunner) {
    const prior = readRecord(join(plan.dir, RECORD_FILE)).entries
    this.resumed = prior.length > 0
    this.state = replay(prior)
    this.goal = plan.metric.goal
    this.objective = plan.metric.key !== undefined ? { key: plan.metric.key, ...(plan.metric.stage !== undefined ? { stage: plan.metric.stage } : {}) } : objectiveOf(plan.metric.name)
    this.search = openSearch({ method: plan.method, goal: this.goal, space: plan.space, sampler: plan.sampler })
    // On resume the record's trials are added to a fresh search in order; a record whose trials the
    // space cannot hold (an edited record, another version's) is not resumed.
    for (const t of history(this.state)) {
      try {
        this.search.add({ params: paramsOf(plan.space, t.assignment), state: t.state, ...(t.value !== undefined ? { value: t.value } : {}), intermediate: t.intermediate })
      } catch (e) {
        this.unreadable = `trial ${t.number} of ${join(plan.dir, RECORD_FILE)} does not fit the sweep's parameters (${describeError(e).replace(/^cannot add the trial: /, '')}); start a new sweep`
        break
      }
    }
  }

  private publish = (e: SweepEvent) => (this.plan.sinks ?? []).forEach((s) => s(e))
  private log = (level: 'info' | 'warn' | 'error', message: string) => this.publish({ _tag: 'SweepLog', time: now(), level, message })
  /** Appends to sweep.jsonl, then applies the entry to the state: the record first, always. */
  private record = (e: RecordEntry) => {
    this.writer!.append(e)
    if (applyEntry(this.state, e)) tellSearch(this.search, e)
  }

  /** Opens the record for writing (closed when the sweep ends). */
  openRecord = () => Effect.suspend(() => {
    const writer = (this.writer = openRecord(join(this.plan.dir, RECORD_FILE)))
    return Effect.addFinalizer(() => Effect.sync(() => writer.close()))
  })

  announce(): void {
    const { plan, state, resumed } = this
    const metric = { name: plan.metric.name, goal: this.goal, ...(plan.metric.target !== undefined ? { target: plan.metric.target } : {}) }
    const total = plan.runCap !== undefined && plan.totalTrials !== undefined ? Math.min(plan.runCap, plan.totalTrials) : (plan.runCap ?? plan.totalTrials)
    const { sweep, file, dir: sweepDir, method, concurrency } = plan
    const recipes = state.recipeChanges.length > 0 ? { recipes: state.recipeChanges } : {}
    this.publish({ _tag: 'SweepStarted', time: now(), sweep, file, sweepDir, method, metric, parameters: plan.space.map((p) => p.name), ...(total !== undefined ? { totalTrials: total } : {}), concurrency, resumed, ...recipes })
    this.record({ type: 'sweep', time: now(), sweep, method, metric, concurrency, resumed })
  }

  /** The leaderboard and best.yaml written, SweepFinished said: the sweep's result. */
  results(status: SweepStatus, reason: string): Effect.Effect<SweepResult> {
    return Effect.gen(this, function* () {
      const { plan, state } = this
      const lb = leaderboard(state, plan.space, plan.metric, plan.dir)
      writeLeaderboard(plan.dir, lb)
      const b = bestTrial(state, this.goal)
      let bestFile: string | undefined
      if (b) {
        const w = yield* writeBestPipeline({ trial: b.number, runDir: b.runDir, baseDir: dirname(plan.base), metric: plan.metric.name, value: b.value!, sweepDir: plan.dir })
        if ('file' in w) bestFile = w.file
        else this.log('error', `best.yaml not written: ${w.error}`)
      }
      const best = b ? { trial: b.number, value: b.value!, assignment: b.assignment, runDir: b.runDir } : undefined
      const said = best ? { best: { trial: best.trial, value: best.value, assignment: best.assignment } } : {}
      this.publish({ _tag: 'SweepFinished', time: now(), status, reason, ...said, durationMs: Date.now() - this.started, sweepDir: plan.dir })
      const result: SweepResult = { status, reason, leaderboard: lb, dir: plan.dir, ...(best ? { best } : {}), ...(bestFile ? { bestFile } : {}) }
      return result
    })
  }

  /**
   * Trials assigned but not finished when the sweep stopped: pruned on replay if the pruner had
   * decided so, else continued (in trial order) before anything new is sampled.
   */
  settleUnfinished(): void {
    for (const t of [...this.state.trials.values()].sort((a, b) => a.number - b.number)) {
      if (t.state !== 'running') continue
      const at = this.replayPrune(t)
      if (at !== undefined) this.finishTrial(t, { state: 'pruned', value: t.intermediate.get(at)!, reason: `pruned at evaluation ${at} by ${this.plan.pruner!.name}` })
      else this.toResume.push(t)
    }
    if (this.resumed) this.log('info', `resuming: ${[...this.state.trials.values()].filter((t) => t.state !== 'running').length} trials finished, ${this.toResume.length} to continue`)
  }

  /** Keeps trials running and acts on what they report, in order, until none runs and none is to start. */
  runTrials(): Effect.Effect<void, SweepFolderUnwritable> {
    const loop = Effect.gen(this, function* () {
      const mailbox = (this.mailbox = yield* Queue.unbounded<Message>())
      while (true) {
        yield* this.fill()
        if (this.running.size === 0) break
        const m = yield* Queue.take(mailbox)
        if (m.kind === 'event') yield* this.onEvent(m.trial, m.event)
        else yield* this.onDone(m.trial, m.exit)
      }
    })
    const stopTrials = Effect.suspend(() => Fiber.interruptAll([...this.running.values()].map((r) => r.fiber)))
    return loop.pipe(
      // The folder could not be written: every running trial is stopped as for Ctrl-C (its
      // checkpoint kept) and stays unfinished in the record; nothing more is written.
      Effect.catchAllDefect((d) => writeFailed(this.plan, this, d)),
      Effect.tapError(() => stopTrials),
      // Ctrl-C: every running trial is stopped cleanly (its checkpoint kept) and stays
      // unfinished in the record, so `--resume` continues it.
      Effect.onInterrupt(() =>
        stopTrials.pipe(
          Effect.zipRight(Effect.suspend(() => this.results('interrupted', `interrupted with ${this.running.size} trial${this.running.size === 1 ? '' : 's'} running; \`lorapipe sweep --resume ${this.plan.dir}\` continues`))),
          Effect.orDie,
        ),
      ),
    )
  }

  /** How the sweep ended, recorded, and its result. */
  conclude(): Effect.Effect<SweepResult> {
    return Effect.suspend(() => {
      const { plan, state } = this
      if (this.interruptedTrial !== undefined) return this.results('interrupted', `trial ${this.interruptedTrial} was interrupted from outside the sweep; \`lorapipe sweep --resume ${plan.dir}\` continues it`)
      const completed = [...state.trials.values()].filter((t) => t.state === 'completed').length
      const final = this.stop ?? (completed === 0 ? { status: 'failed' as const, reason: `no trial completed (${summary(state)}); ${this.exhausted ?? ''}`.replace(/; $/, '') } : { status: 'finished' as const, reason: this.exhausted ?? 'done' })
      this.record({ type: 'ended', time: now(), status: final.status, reason: final.reason })
      return this.results(final.status, final.reason)
    })
  }

  /** Starts trials (continued ones first, then sampled ones) until `concurrency` run or the sweep is to stop. */
  private fill() {
    return Effect.gen(this, function* () {
      const { plan, state } = this
      while (this.running.size < plan.concurrency && !this.stop && !this.exhausted && this.interruptedTrial === undefined) {
        const again = this.toResume.shift()
        if (again) {
          yield* this.start(again, true)
          continue
        }
        if (plan.runCap !== undefined && state.trials.size >= plan.runCap) {
          this.exhausted = `run_cap reached (${plan.runCap} trials)`
          break
        }
        let asked
        try {
          asked = this.search.ask()
        } catch (e) {
          if (e instanceof SearchExhausted) this.exhausted = plan.method === 'grid' ? `every grid point was tried (${state.trials.size} trials)` : `the search space has no untried point left (${state.trials.size} trials)`
          else this.stop = { status: 'failed', reason: `the ${plan.sampler.name} sampler failed: ${describeError(e)}` }
          break
        }
        const n = asked.number
        const a = assignmentOf(plan.space, asked.params)
        if (!a.ok || state.trials.has(n)) {
          this.stop = { status: 'failed', reason: `the search gave trial ${n} ${a.ok ? 'a number the sweep has already used' : `params the space does not hold: ${a.problems.join('; ')}`}` }
          break
        }
        this.record({ type: 'assigned', time: now(), trial: n, assignment: a.assignment, runDir: trialRunDir(plan.dir, n) })
        yield* this.start(state.trials.get(n)!, false)
      }
    })
  }

  private start(t: TrialInfo, resume: boolean) {
    return Effect.gen(this, function* () {
      const { plan } = this
      this.record({ type: 'started', time: now(), trial: t.number, resume })
      this.publish({ _tag: 'TrialStarted', time: now(), trial: t.number, assignment: t.assignment, runDir: t.runDir, resumed: resume, ...(this.state.recipeChanges.length > 0 ? { recipe: t.recipe } : {}) })
      const spec: TrialSpec = { sweep: plan.sweep, trial: t.number, assignment: t.assignment, pipeline: yield* Effect.either(plan.trialPipeline(t.assignment)), sets: plan.sets ?? [], runDir: t.runDir, resume }
      const n = t.number
      const mailbox = this.mailbox!
      const fiber = yield* Effect.fork(
        this.executor.run(spec, (event) => Queue.unsafeOffer(mailbox, { kind: 'event', trial: n, event })).pipe(Effect.onExit((exit) => Queue.offer(mailbox, { kind: 'done', trial: n, exit }))),
      )
      this.running.set(n, { fiber })
    })
  }

  private finishTrial(t: TrialInfo, e: Omit<Extract<RecordEntry, { type: 'finished' }>, 'type' | 'time' | 'trial'>): void {
    const { plan, state, goal } = this
    this.record({ type: 'finished', time: now(), trial: t.number, step: t.step, ...e })
    const { value, reason } = e
    this.publish({ _tag: 'TrialFinished', time: now(), trial: t.number, state: e.state, ...(value !== undefined ? { value } : {}), ...(reason !== undefined ? { reason } : {}), durationMs: durationOf(t) })
    writeLeaderboard(plan.dir, leaderboard(state, plan.space, plan.metric, plan.dir))
    if (e.state === 'completed' && e.value !== undefined && plan.metric.target !== undefined && !this.stop) {
      const t0 = plan.metric.target
      if (e.value === t0 || better(goal, e.value, t0)) this.stop = { status: 'stopped', reason: `trial ${t.number} reached the target ${plan.metric.name} ${goal === 'maximize' ? '>=' : '<='} ${t0} (${e.value})` }
    }
    if (e.state === 'failed' && plan.maxConsecutiveFailures !== undefined && state.consecutiveFailures >= plan.maxConsecutiveFailures && !this.stop)
      this.stop = {
        status: 'failed',
        reason: `${state.consecutiveFailures} trials failed in a row (the cap is ${plan.maxConsecutiveFailures}); the last one: ${e.reason?.split('\n')[0] ?? 'no message'}. Fix the base pipeline or the parameter values, then start a new sweep`,
      }
  }

  /**
   * The evaluation an event reports, when it is one the record does not hold yet. Once pruned, a
   * trial's evaluations before it stops do not count: its record stays the same however quickly
   * it obeys; a resumed trial repeats the evaluations between its checkpoint and the kill: counted once.
   */
  private newEvaluation(t: TrialInfo, event: RunEvent) {
    const hit = objectiveIn(this.objective, event)
    if (!hit || !Number.isFinite(hit.value)) return undefined
    const key = `${hit.stage}@${hit.step}`
    if (t.seen.has(key)) return undefined
    return { key, evaluation: t.intermediate.size + 1, step: hit.step, value: hit.value, metrics: hit.metrics }
  }

  /** Replays the pruner over a trial's recorded evaluations: the first one at which it would have stopped, if any. */
  private replayPrune(t: TrialInfo): number | undefined {
    const { pruner } = this.plan
    if (!pruner) return undefined
    for (const i of [...t.intermediate.keys()].sort((a, b) => a - b)) {
      const partial = new Map([...t.intermediate].filter(([k]) => k <= i))
      const view: TrialView = { ...viewOf(t), intermediate: partial }
      const hist = history(this.state).map((h) => (h.number === t.number ? view : h))
      if (pruner.shouldPrune(view, i, hist, this.goal)) return i
    }
    return undefined
  }

  private onEvent(n: number, event: RunEvent) {
    return Effect.gen(this, function* () {
      const { plan } = this
      const t = this.state.trials.get(n)
      const counted = t && t.state === 'running' && this.running.get(n)?.pruned === undefined ? this.newEvaluation(t, event) : undefined
      // The record first: an evaluation is in sweep.jsonl before anything else is written about
      // it (should events.jsonl then fail, the trial's finished stage cannot report it again).
      if (counted) this.record({ type: 'metrics', time: now(), trial: n, ...counted })
      this.publish({ _tag: 'TrialEvent', time: now(), trial: n, event })
      if (!t || t.state !== 'running') return
      if (event._tag === 'Progress') t.step = Math.max(t.step, event.step)
      if (!counted) return
      const r = this.running.get(n)
      const { evaluation, step, value, metrics } = counted
      this.publish({ _tag: 'TrialMetrics', time: now(), trial: n, evaluation, step, value, metrics })
      if (plan.pruner && r && plan.pruner.shouldPrune(viewOf(t), evaluation, history(this.state), this.goal)) {
        r.pruned = `pruned at evaluation ${evaluation} (step ${step}) by ${plan.pruner.name}: ${plan.metric.name} ${value}`
        yield* Fiber.interruptFork(r.fiber)
      }
    })
  }

  private onDone(n: number, exit: Exit.Exit<TrialOutcome>) {
    return Effect.gen(this, function* () {
      const { plan } = this
      const r = this.running.get(n)
      this.running.delete(n)
      const t = this.state.trials.get(n)
      if (!t || t.state !== 'running') return
      if (r?.pruned !== undefined) {
        const v = lastValue(t)
        return this.finishTrial(t, { state: 'pruned', ...(v !== undefined ? { value: v } : {}), reason: r.pruned })
      }
      // A trial that could not write its folder (or whose folder has no room left) did not fail:
      // it stays unfinished, and the sweep stops until there is room.
      const unwritten = Exit.isFailure(exit)
        ? storageFailure(Cause.squash(exit.cause))
        : exit.value.status === 'failed'
          ? (storageFailureIn(exit.value.error, t.runDir) ?? noRoomIn(dirname(t.runDir)))
          : undefined
      if (unwritten) return yield* Effect.fail(unwritable(plan, this, { code: unwritten.code, path: unwritten.path ?? t.runDir }))
      if (Exit.isFailure(exit)) return this.finishTrial(t, { state: 'failed', reason: Cause.isInterruptedOnly(exit.cause) ? 'interrupted' : describeError(Cause.squash(exit.cause)) })
      const o = exit.value
      if (o.status === 'failed') return this.finishTrial(t, { state: 'failed', reason: o.error })
      if (o.status === 'interrupted') {
        // Stopped from outside (a signal to the trial alone): it stays unfinished, nothing new
        // starts, and the sweep ends as interrupted so that `--resume` continues it.
        this.interruptedTrial = n
        return
      }
      // A continued trial whose stage had already finished reported its evaluations before the
      // stop, not all of which may have reached the record: its metrics.json has them.
      if (t.starts > 1 && plan.metric.stage !== undefined) {
        for (const event of evaluationsOnFile(t.runDir, plan.metric.stage)) {
          const counted = this.newEvaluation(t, event)
          if (!counted) continue
          this.record({ type: 'metrics', time: now(), trial: n, ...counted })
          this.publish({ _tag: 'TrialMetrics', time: now(), trial: n, evaluation: counted.evaluation, step: counted.step, value: counted.value, metrics: counted.metrics })
        }
      }
      const v = lastValue(t)
      if (v === undefined) {
        const seen = t.lastMetrics ? Object.keys(t.lastMetrics).join(', ') : 'none'
        return this.finishTrial(t, { state: 'failed', reason: `the run succeeded but never reported ${plan.metric.name} (metrics it reported: ${seen})` })
      }
      this.finishTrial(t, { state: 'completed', value: v })
    })
  }
}

const lastValue = (t: TrialInfo) => (t.intermediate.size ? t.intermediate.get(Math.max(...t.intermediate.keys())) : undefined)

function summary(s: SweepState): string {
  const counts = new Map<string, number>()
  for (const t of s.trials.values()) counts.set(t.state, (counts.get(t.state) ?? 0) + 1)
  return [...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'no trials'
}

/** What a record entry tells the search: an evaluation (reported), an end (told); an assignment came from its ask. */
function tellSearch(search: Search, e: RecordEntry): void {
  if (e.type === 'metrics') search.report(e.trial, e.evaluation, e.value)
  else if (e.type === 'finished') search.tell(e.trial, e.state === 'completed' && e.value !== undefined ? e.value : e.state === 'pruned' ? { state: 'pruned', ...(e.value !== undefined ? { value: e.value } : {}) } : { state: 'failed' })
}
