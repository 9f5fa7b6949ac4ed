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
import { now, type RunEvent } from '../../events.ts'
import type { SweepEvent, SweepEventSink, SweepStatus } from '../events.ts'
import type { Assignment, Goal, Pruner, Sampler, SearchSpace, TrialView } from '../model.ts'
import { openSearch, SearchExhausted, type Search } from '../search/search.ts'
import { paramsOf, assignmentOf } from '../search/space.ts'
import { writeBestPipeline } from './best.ts'
import { TrialExecutor, type TrialOutcome, type TrialSpec } from './executor.ts'
import { leaderboard, writeLeaderboard, type Leaderboard } from './leaderboard.ts'
import { evaluationsOnFile, objectiveIn, objectiveOf } from './objective.ts'
import { openRecord, readRecord, RECORD_FILE, type RecordEntry } from './record.ts'
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
  /** The `--set` arguments that make an assignment's trial pipeline from the base. */
  readonly setsOf: (assignment: Assignment) => readonly string[]
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

export const trialDirName = (n: number) => String(n).padStart(4, '0')

export const SWEEP_LOCK = 'sweep.lock'

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
  // What the record holds, for the message when a write of the folder fails (set once it is read).
  let trialsSoFar: () => readonly TrialInfo[] = () => []
  const unwritable = (f: StorageFailure) => new SweepFolderUnwritable({ dir: plan.dir, path: f.path ?? plan.dir, errno: f.code, saved: savedText(trialsSoFar()) })
  /** A write of the sweep folder that threw (a full disk...) becomes SweepFolderUnwritable; any other defect stays one. */
  const writeFailed = (defect: unknown) => {
    const f = storageFailure(defect)
    return f ? Effect.fail(unwritable(f)) : Effect.die(defect)
  }
  return Effect.gen(function* () {
    const executor = yield* TrialExecutor
    // One coordinator per sweep folder, for the whole sweep.
    const lock = lockSweepFolder(plan.dir)
    if (lock instanceof SweepFolderBusy) return yield* Effect.fail(lock)
    yield* Effect.addFinalizer(() => Effect.sync(() => lock.release()))
    const started = Date.now()
    const sinks = plan.sinks ?? []
    const publish = (e: SweepEvent) => {
      for (const s of sinks) s(e)
    }
    const recordFile = join(plan.dir, RECORD_FILE)
    const prior = readRecord(recordFile).entries
    const resumed = prior.length > 0
    const state = replay(prior)
    trialsSoFar = () => [...state.trials.values()]
    const writer = openRecord(recordFile)
    yield* Effect.addFinalizer(() => Effect.sync(() => writer.close()))
    const goal = plan.metric.goal
    const search = openSearch({ method: plan.method, goal, space: plan.space, sampler: plan.sampler })
    // A record whose trials the space cannot hold (an edited record, another version's) is not resumed.
    let unreadable: string | undefined
    for (const t of history(state)) {
      if (unreadable) break
      try {
        search.add({ params: paramsOf(plan.space, t.assignment), state: t.state, ...(t.value !== undefined ? { value: t.value } : {}), intermediate: t.intermediate })
      } catch (e) {
        unreadable = `trial ${t.number} of ${join(plan.dir, RECORD_FILE)} does not fit the sweep's parameters (${describeError(e).replace(/^cannot add the trial: /, '')}); start a new sweep`
      }
    }
    const record = (e: RecordEntry) => {
      writer.append(e)
      if (applyEntry(state, e)) tellSearch(search, e)
    }
    const objective = plan.metric.key !== undefined ? { key: plan.metric.key, ...(plan.metric.stage !== undefined ? { stage: plan.metric.stage } : {}) } : objectiveOf(plan.metric.name)
    const metricInfo = { name: plan.metric.name, goal, ...(plan.metric.target !== undefined ? { target: plan.metric.target } : {}) }
    const total = plan.runCap !== undefined && plan.totalTrials !== undefined ? Math.min(plan.runCap, plan.totalTrials) : (plan.runCap ?? plan.totalTrials)
    publish({
      _tag: 'SweepStarted',
      time: now(),
      sweep: plan.sweep,
      file: plan.file,
      sweepDir: plan.dir,
      method: plan.method,
      metric: metricInfo,
      parameters: plan.space.map((p) => p.name),
      ...(total !== undefined ? { totalTrials: total } : {}),
      concurrency: plan.concurrency,
      resumed,
      ...(state.recipeChanges.length > 0 ? { recipes: state.recipeChanges } : {}),
    })
    record({ type: 'sweep', time: now(), sweep: plan.sweep, method: plan.method, metric: metricInfo, concurrency: plan.concurrency, resumed })

    const finishOutputs = (status: SweepStatus, reason: string) =>
      Effect.gen(function* () {
        const lb = leaderboard(state, plan.space, plan.metric, plan.dir)
        writeLeaderboard(plan.dir, lb)
        const b = bestTrial(state, goal)
        let bestFile: string | undefined
        if (b) {
          const w = yield* writeBestPipeline({ trial: b.number, runDir: b.runDir, baseDir: dirname(plan.base), metric: plan.metric.name, value: b.value!, sweepDir: plan.dir })
          if ('file' in w) bestFile = w.file
          else publish({ _tag: 'SweepLog', time: now(), level: 'error', message: `best.yaml not written: ${w.error}` })
        }
        const best = b ? { trial: b.number, value: b.value!, assignment: b.assignment, runDir: b.runDir } : undefined
        publish({
          _tag: 'SweepFinished',
          time: now(),
          status,
          reason,
          ...(best ? { best: { trial: best.trial, value: best.value, assignment: best.assignment } } : {}),
          durationMs: Date.now() - started,
          sweepDir: plan.dir,
        })
        const result: SweepResult = { status, reason, leaderboard: lb, dir: plan.dir, ...(best ? { best } : {}), ...(bestFile ? { bestFile } : {}) }
        return result
      })

    if (state.ended) return yield* finishOutputs(state.ended.status, `the sweep had already ended: ${state.ended.reason}`)
    if (unreadable) return yield* finishOutputs('failed', unreadable)

    const mailbox = yield* Queue.unbounded<Message>()
    const running = new Map<number, Running>()
    let stop: { status: Exclude<SweepStatus, 'interrupted'>; reason: string } | undefined
    let exhausted: string | undefined
    let interruptedTrial: number | undefined

    const log = (level: 'info' | 'warn' | 'error', message: string) => publish({ _tag: 'SweepLog', time: now(), level, message })

    const finishTrial = (t: TrialInfo, e: Omit<Extract<RecordEntry, { type: 'finished' }>, 'type' | 'time' | 'trial'>) => {
      record({ type: 'finished', time: now(), trial: t.number, step: t.step, ...e })
      publish({
        _tag: 'TrialFinished',
        time: now(),
        trial: t.number,
        state: e.state,
        ...(e.value !== undefined ? { value: e.value } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        durationMs: durationOf(t),
      })
      writeLeaderboard(plan.dir, leaderboard(state, plan.space, plan.metric, plan.dir))
      if (e.state === 'completed' && e.value !== undefined && plan.metric.target !== undefined && !stop) {
        const t0 = plan.metric.target
        if (e.value === t0 || better(goal, e.value, t0)) stop = { status: 'stopped', reason: `trial ${t.number} reached the target ${plan.metric.name} ${goal === 'maximize' ? '>=' : '<='} ${t0} (${e.value})` }
      }
      if (e.state === 'failed' && plan.maxConsecutiveFailures !== undefined && state.consecutiveFailures >= plan.maxConsecutiveFailures && !stop)
        stop = {
          status: 'failed',
          reason: `${state.consecutiveFailures} trials failed in a row (the cap is ${plan.maxConsecutiveFailures}); the last one: ${e.reason?.split('\n')[0] ?? 'no message'}. Fix the base pipeline or the parameter values, then start a new sweep`,
        }
    }

    /**
     * The evaluation an event reports, when it is one the record does not hold yet. Once pruned, a
     * trial's evaluations before it stops do not count: its record stays the same however quickly
     * it obeys; a resumed trial repeats the evaluations between its checkpoint and the kill: counted once.
     */
    const newEvaluation = (t: TrialInfo, event: RunEvent) => {
      const hit = objectiveIn(objective, event)
      if (!hit || !Number.isFinite(hit.value)) return undefined
      const key = `${hit.stage}@${hit.step}`
      if (t.seen.has(key)) return undefined
      return { key, evaluation: t.intermediate.size + 1, step: hit.step, value: hit.value, metrics: hit.metrics }
    }

    const lastValue = (t: TrialInfo) => (t.intermediate.size ? t.intermediate.get(Math.max(...t.intermediate.keys())) : undefined)

    /** Replays the pruner over a trial's recorded evaluations: the first one at which it would have stopped, if any. */
    const replayPrune = (t: TrialInfo): number | undefined => {
      if (!plan.pruner) return undefined
      for (const i of [...t.intermediate.keys()].sort((a, b) => a - b)) {
        const partial = new Map([...t.intermediate].filter(([k]) => k <= i))
        const view: TrialView = { ...viewOf(t), intermediate: partial }
        const hist = history(state).map((h) => (h.number === t.number ? view : h))
        if (plan.pruner.shouldPrune(view, i, hist, goal)) return i
      }
      return undefined
    }

    const start = (t: TrialInfo, resume: boolean) =>
      Effect.gen(function* () {
        record({ type: 'started', time: now(), trial: t.number, resume })
        publish({ _tag: 'TrialStarted', time: now(), trial: t.number, assignment: t.assignment, runDir: t.runDir, resumed: resume, ...(state.recipeChanges.length > 0 ? { recipe: t.recipe } : {}) })
        const spec: TrialSpec = {
          sweep: plan.sweep,
          trial: t.number,
          assignment: t.assignment,
          pipeline: { file: plan.base, sets: [...plan.setsOf(t.assignment)] },
          runDir: t.runDir,
          resume,
        }
        const n = t.number
        const fiber = yield* Effect.fork(
          executor.run(spec, (event) => Queue.unsafeOffer(mailbox, { kind: 'event', trial: n, event })).pipe(Effect.onExit((exit) => Queue.offer(mailbox, { kind: 'done', trial: n, exit }))),
        )
        running.set(n, { fiber })
      })

    // Trials assigned but not finished when the sweep stopped: pruned on replay if the pruner had
    // decided so, else continued (in trial order) before anything new is sampled.
    const toResume: TrialInfo[] = []
    for (const t of [...state.trials.values()].sort((a, b) => a.number - b.number)) {
      if (t.state !== 'running') continue
      const at = replayPrune(t)
      if (at !== undefined) finishTrial(t, { state: 'pruned', value: t.intermediate.get(at)!, reason: `pruned at evaluation ${at} by ${plan.pruner!.name}` })
      else toResume.push(t)
    }
    if (resumed) log('info', `resuming: ${[...state.trials.values()].filter((t) => t.state !== 'running').length} trials finished, ${toResume.length} to continue`)

    const fill = Effect.gen(function* () {
      while (running.size < plan.concurrency && !stop && !exhausted && interruptedTrial === undefined) {
        const again = toResume.shift()
        if (again) {
          yield* start(again, true)
          continue
        }
        if (plan.runCap !== undefined && state.trials.size >= plan.runCap) {
          exhausted = `run_cap reached (${plan.runCap} trials)`
          break
        }
        let asked
        try {
          asked = search.ask()
        } catch (e) {
          if (e instanceof SearchExhausted) exhausted = plan.method === 'grid' ? `every grid point was tried (${state.trials.size} trials)` : `the search space has no untried point left (${state.trials.size} trials)`
          else stop = { status: 'failed', reason: `the ${plan.sampler.name} sampler failed: ${describeError(e)}` }
          break
        }
        const n = asked.number
        const a = assignmentOf(plan.space, asked.params)
        if (!a.ok || state.trials.has(n)) {
          stop = { status: 'failed', reason: `the search gave trial ${n} ${a.ok ? 'a number the sweep has already used' : `params the space does not hold: ${a.problems.join('; ')}`}` }
          break
        }
        record({ type: 'assigned', time: now(), trial: n, assignment: a.assignment, runDir: join(plan.dir, 'trials', trialDirName(n)) })
        yield* start(state.trials.get(n)!, false)
      }
    })

    const onEvent = (n: number, event: RunEvent) =>
      Effect.gen(function* () {
        const t = state.trials.get(n)
        const counted = t && t.state === 'running' && running.get(n)?.pruned === undefined ? newEvaluation(t, event) : undefined
        // The record first: an evaluation is in sweep.jsonl before anything else is written about
        // it (should events.jsonl then fail, the trial's finished stage cannot report it again).
        if (counted) record({ type: 'metrics', time: now(), trial: n, ...counted })
        publish({ _tag: 'TrialEvent', time: now(), trial: n, event })
        if (!t || t.state !== 'running') return
        if (event._tag === 'Progress') t.step = Math.max(t.step, event.step)
        if (!counted) return
        const r = running.get(n)
        const { evaluation, step, value, metrics } = counted
        publish({ _tag: 'TrialMetrics', time: now(), trial: n, evaluation, step, value, metrics })
        if (plan.pruner && r && plan.pruner.shouldPrune(viewOf(t), evaluation, history(state), goal)) {
          r.pruned = `pruned at evaluation ${evaluation} (step ${step}) by ${plan.pruner.name}: ${plan.metric.name} ${value}`
          yield* Fiber.interruptFork(r.fiber)
        }
      })

    const onDone = (n: number, exit: Exit.Exit<TrialOutcome>) =>
      Effect.gen(function* () {
        const r = running.get(n)
        running.delete(n)
        const t = state.trials.get(n)
        if (!t || t.state !== 'running') return
        if (r?.pruned !== undefined) {
          const v = lastValue(t)
          return finishTrial(t, { state: 'pruned', ...(v !== undefined ? { value: v } : {}), reason: r.pruned })
        }
        // A trial that could not write its folder (or whose folder has no room left) did not fail:
        // it stays unfinished, and the sweep stops until there is room.
        const unwritten = Exit.isFailure(exit)
          ? storageFailure(Cause.squash(exit.cause))
          : exit.value.status === 'failed'
            ? (storageFailureIn(exit.value.error, t.runDir) ?? noRoomIn(dirname(t.runDir)))
            : undefined
        if (unwritten) return yield* Effect.fail(unwritable({ code: unwritten.code, path: unwritten.path ?? t.runDir }))
        if (Exit.isFailure(exit)) return finishTrial(t, { state: 'failed', reason: Cause.isInterruptedOnly(exit.cause) ? 'interrupted' : describeError(Cause.squash(exit.cause)) })
        const o = exit.value
        if (o.status === 'failed') return finishTrial(t, { state: 'failed', reason: o.error })
        if (o.status === 'interrupted') {
          // Stopped from outside (a signal to the trial alone): it stays unfinished, nothing new
          // starts, and the sweep ends as interrupted so that `--resume` continues it.
          interruptedTrial = n
          return
        }
        // A continued trial whose stage had already finished reported its evaluations before the
        // stop, not all of which may have reached the record: its metrics.json has them.
        if (t.starts > 1 && plan.metric.stage !== undefined) {
          for (const event of evaluationsOnFile(t.runDir, plan.metric.stage)) {
            const counted = newEvaluation(t, event)
            if (!counted) continue
            record({ type: 'metrics', time: now(), trial: n, ...counted })
            publish({ _tag: 'TrialMetrics', time: now(), trial: n, evaluation: counted.evaluation, step: counted.step, value: counted.value, metrics: counted.metrics })
          }
        }
        const v = lastValue(t)
        if (v === undefined) {
          const seen = t.lastMetrics ? Object.keys(t.lastMetrics).join(', ') : 'none'
          return finishTrial(t, { state: 'failed', reason: `the run succeeded but never reported ${plan.metric.name} (metrics it reported: ${seen})` })
        }
        finishTrial(t, { state: 'completed', value: v })
      })

    const loop = Effect.gen(function* () {
      while (true) {
        yield* fill
        if (running.size === 0) break
        const m = yield* Queue.take(mailbox)
        if (m.kind === 'event') yield* onEvent(m.trial, m.event)
        else yield* onDone(m.trial, m.exit)
      }
    })

    const stopTrials = Effect.suspend(() => Fiber.interruptAll([...running.values()].map((r) => r.fiber)))
    yield* loop.pipe(
      // The folder could not be written: every running trial is stopped as for Ctrl-C (its
      // checkpoint kept) and stays unfinished in the record; nothing more is written.
      Effect.catchAllDefect(writeFailed),
      Effect.tapError(() => stopTrials),
      Effect.onInterrupt(() =>
        // Ctrl-C: every running trial is stopped cleanly (its checkpoint kept) and stays
        // unfinished in the record, so `--resume` continues it.
        Fiber.interruptAll([...running.values()].map((r) => r.fiber)).pipe(
          Effect.zipRight(Effect.suspend(() => finishOutputs('interrupted', `interrupted with ${running.size} trial${running.size === 1 ? '' : 's'} running; \`lorapipe sweep --resume ${plan.dir}\` continues`))),
          Effect.orDie,
        ),
      ),
    )
    if (interruptedTrial !== undefined) return yield* finishOutputs('interrupted', `trial ${interruptedTrial} was interrupted from outside the sweep; \`lorapipe sweep --resume ${plan.dir}\` continues it`)
    const completed = [...state.trials.values()].filter((t) => t.state === 'completed').length
    const final = stop ?? (completed === 0 ? { status: 'failed' as const, reason: `no trial completed (${summary(state)}); ${exhausted ?? ''}`.replace(/; $/, '') } : { status: 'finished' as const, reason: exhausted ?? 'done' })
    record({ type: 'ended', time: now(), status: final.status, reason: final.reason })
    return yield* finishOutputs(final.status, final.reason)
  }).pipe(Effect.catchAllDefect(writeFailed), Effect.scoped)
}

/** What a record entry tells the search: an evaluation (reported), an end (told); an assignment came from its ask. */
function tellSearch(search: Search, e: RecordEntry): void {
  if (e.type === 'metrics') search.report(e.trial, e.evaluation, e.value)
  else if (e.type === 'finished') search.tell(e.trial, e.state === 'completed' && e.value !== undefined ? e.value : e.state === 'pruned' ? { state: 'pruned', ...(e.value !== undefined ? { value: e.value } : {}) } : { state: 'failed' })
}

function summary(s: SweepState): string {
  const counts = new Map<string, number>()
  for (const t of s.trials.values()) counts.set(t.state, (counts.get(t.state) ?? 0) + 1)
  return [...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'no trials'
}
