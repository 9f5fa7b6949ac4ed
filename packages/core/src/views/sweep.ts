// A sweep as a pure function of its events: `reduceSweep(view, event)` for a live stream,
// `foldSweep(events)` for a whole events.jsonl (which grows across resumed sweeps). The sweep UI,
// the sweep report, the plain lines and the `uses: sweep` stage read it. A running trial can keep
// its own run's view, fed by the run events it forwards, so its panel is drawn as `lorapipe run`
// draws a stage. Times come from the events, never the clock.
import type { SweepEvent, SweepStatus } from '../sweep/events.ts'
import type { Assignment, Goal, TrialState } from '../sweep/model.ts'
import { copying, inPlace, type Lists } from './lists.ts'
import { bestOf } from '../sweep/ranking.ts'
import { initialRunView, runStep, type RunView, type RunViewOptions } from './run.ts'

export type RecipeChange = NonNullable<Extract<SweepEvent, { _tag: 'SweepStarted' }>['recipes']>[number]

export interface TrialRow {
  readonly number: number
  readonly assignment: Assignment
  readonly state: TrialState
  readonly runDir?: string
  readonly startedAt?: number
  /** Of its last attempt that ended. */
  readonly durationMs?: number
  /** Evaluations reported so far, the latest training step, and the objective after the latest. */
  readonly evaluations: number
  readonly step?: number
  readonly latest?: number
  /** The trial's best objective so far (or its final value once completed). */
  readonly best?: number
  /** The objective the sweep gave it when it ended. */
  readonly value?: number
  /** The objective after each evaluation, [step, value] by step: a resumed trial's repeated evaluations once. */
  readonly curve: readonly (readonly [number, number])[]
  /** Why it failed or was pruned. */
  readonly reason?: string
  readonly resumed: boolean
  /** The recipe it runs under: 1 unless the recipe changed before it was assigned. */
  readonly recipe: number
  /** Its own run, while it runs (when the view keeps trial runs). */
  readonly run?: RunView
}

export interface SweepViewOptions {
  /** Keep each running trial's run view, made with these options (the UI's trial panels). */
  readonly trialRuns?: RunViewOptions
}

export interface SweepView {
  readonly sweep?: string
  readonly sweepDir?: string
  readonly method?: string
  readonly metric?: { readonly name: string; readonly goal: Goal; readonly target?: number }
  readonly parameters: readonly string[]
  readonly totalTrials?: number
  readonly concurrency?: number
  readonly startedAt?: number
  /** Every change of recipe so far. */
  readonly recipes: readonly RecipeChange[]
  /** By trial number. */
  readonly trials: readonly TrialRow[]
  /** How the sweep ended, and the trial it named best; absent while it runs. */
  readonly finished?: { readonly status: SweepStatus; readonly reason: string; readonly durationMs: number; readonly bestTrial?: number }
  readonly options: SweepViewOptions
}

export function initialSweepView(options: SweepViewOptions = {}): SweepView {
  return { parameters: [], recipes: [], trials: [], options }
}

/** Whether `a` is a better objective than `b` for the goal (a defined value beats none). */
export function better(a: number | undefined, b: number | undefined, goal: Goal): boolean {
  if (a === undefined || !Number.isFinite(a)) return false
  if (b === undefined || !Number.isFinite(b)) return true
  return goal === 'maximize' ? a > b : a < b
}

/** The trial the sweep named best when it ended, else the best finished (completed, else pruned) one so far, by the sweep's one ranking rule. */
export function bestTrial(s: SweepView): number | undefined {
  if (s.finished?.bestTrial !== undefined) return s.finished.bestTrial
  const best = bestOf(s.trials, s.metric?.goal ?? 'maximize', rankOfRow, (r) => r.state === 'completed' || r.state === 'pruned')
  return best?.number
}

/** What ranking reads of a trial's row: its best objective, latest step and duration. */
export function rankOfRow(t: TrialRow, objective: number | undefined = t.best) {
  return { number: t.number, state: t.state, ...(objective !== undefined ? { objective } : {}), ...(t.step !== undefined ? { steps: t.step } : {}), ...(t.durationMs !== undefined ? { durationMs: t.durationMs } : {}) }
}

/** Trials by state; `finished`: completed, pruned or failed. */
export function counts(s: SweepView) {
  const c = { running: 0, completed: 0, pruned: 0, failed: 0 }
  for (const t of s.trials) c[t.state]++
  return { ...c, finished: c.completed + c.pruned + c.failed }
}

/** The view after `event`; `view` is left as it was. */
export const reduceSweep = (view: SweepView, event: SweepEvent): SweepView => sweepStep(view, event, copying)

/** The view after `events`, built in place on `from` (a fresh view by default; else one only the caller holds). */
export function foldSweep(events: Iterable<SweepEvent>, from: SweepView = initialSweepView()): SweepView {
  let view = from
  for (const e of events) view = sweepStep(view, e, inPlace)
  return view
}

/** Where trial `n` is in `trials` (by number), or where it would go. */
function indexOf(trials: readonly TrialRow[], n: number): number {
  let [lo, hi] = [0, trials.length]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    ;[lo, hi] = trials[mid]!.number < n ? [mid + 1, hi] : [lo, mid]
  }
  return lo
}

function sweepStep(s: SweepView, e: SweepEvent, lists: Lists): SweepView {
  const at = Date.parse(e.time)
  const goal = s.metric?.goal ?? 'maximize'
  const update = (n: number, f: (t: TrialRow) => TrialRow): SweepView => {
    const i = indexOf(s.trials, n)
    const seen = s.trials[i]?.number === n
    // A trial whose start was not seen (events replayed from the middle): shown anyway.
    const base: TrialRow = seen ? s.trials[i]! : { number: n, assignment: {}, state: 'running', evaluations: 0, curve: [], resumed: false, recipe: 1 }
    return { ...s, trials: lists.put(s.trials, i, f(base), !seen) }
  }
  const freshRun = () => (s.options.trialRuns ? initialRunView(s.options.trialRuns) : undefined)
  switch (e._tag) {
    case 'SweepStarted':
      return {
        ...s,
        sweep: e.sweep,
        sweepDir: e.sweepDir,
        method: e.method,
        metric: e.metric,
        parameters: e.parameters,
        totalTrials: e.totalTrials,
        concurrency: e.concurrency,
        startedAt: at,
        // Each (re)start lists every change so far.
        recipes: e.recipes && e.recipes.length >= s.recipes.length ? e.recipes : s.recipes,
        finished: undefined,
      }
    case 'TrialStarted':
      return update(e.trial, (t) => ({ ...t, assignment: e.assignment, state: 'running', runDir: e.runDir, startedAt: at, resumed: e.resumed, recipe: e.recipe ?? 1, run: freshRun() }))
    case 'TrialEvent':
      return update(e.trial, (t) => {
        const run = s.options.trialRuns && t.state === 'running' ? runStep(t.run ?? freshRun()!, e.event, lists) : undefined
        const step = e.event._tag === 'Progress' || e.event._tag === 'TrainLog' ? e.event.step : t.step
        return { ...t, run, step }
      })
    case 'TrialMetrics':
      return update(e.trial, (t) => ({
        ...t,
        evaluations: Math.max(t.evaluations, e.evaluation),
        step: Math.max(t.step ?? 0, e.step),
        latest: e.value,
        best: better(e.value, t.best, goal) ? e.value : t.best,
        curve: [...t.curve.filter(([step]) => step !== e.step), [e.step, e.value] as const].sort((a, b) => a[0] - b[0]),
      }))
    case 'TrialFinished': {
      const value = e.value !== undefined && Number.isFinite(e.value) ? e.value : undefined
      return update(e.trial, (t) => ({
        ...t,
        state: e.state,
        durationMs: e.durationMs,
        reason: e.reason,
        value: value ?? t.value,
        // The final objective of a completed trial is its value (it may be the best model's, not the last).
        best: value !== undefined && (e.state === 'completed' || better(value, t.best, goal)) ? value : t.best,
        run: undefined,
      }))
    }
    case 'SweepLog':
      return s
    case 'SweepFinished':
      return {
        ...s,
        sweepDir: e.sweepDir,
        finished: { status: e.status, reason: e.reason, durationMs: e.durationMs, ...(e.best ? { bestTrial: e.best.trial } : {}) },
        // Trials still running when the sweep ends were stopped with it (they resume with it).
        trials: s.trials.map((t) => (t.state === 'running' && t.run ? { ...t, run: undefined } : t)),
      }
  }
}
