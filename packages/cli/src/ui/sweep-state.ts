// What the terminal UI shows of a sweep, as a pure function of the sweep events seen so far:
// `reduceSweep(state, event)`. Each running trial keeps a single-run `UiState`, fed by the run
// events it forwards (wrapped in `TrialEvent`), so its panel is drawn exactly as `lorapipe run`
// draws a stage. Times come from the events, never the clock.
import type { Assignment, Goal, SweepEvent, SweepStatus, TrialState } from '@lorapipe/core'
import { initialState, reduce, type UiState } from './state.ts'

export interface TrialRow {
  readonly number: number
  readonly assignment: Assignment
  readonly state: TrialState
  readonly runDir?: string
  readonly startedAt?: number
  readonly durationMs?: number
  /** Evaluations reported so far, the latest training step, and the objective after the latest. */
  readonly evaluations: number
  readonly step?: number
  readonly latest?: number
  /** The trial's best objective so far (or its final value once finished). */
  readonly best?: number
  readonly reason?: string
  readonly resumed: boolean
  /** The trial's own run, as the single-run UI sees it (kept while it runs). */
  readonly run?: UiState
}

export interface SweepMessage {
  readonly id: number
  readonly level: 'info' | 'warn' | 'error'
  readonly text: string
}

export interface SweepUiState {
  readonly sweep?: string
  readonly sweepDir?: string
  readonly method?: string
  readonly metric?: { readonly name: string; readonly goal: Goal; readonly target?: number }
  readonly parameters: readonly string[]
  readonly totalTrials?: number
  readonly concurrency?: number
  readonly startedAt?: number
  readonly trials: readonly TrialRow[]
  /** Number of the best finished (completed or pruned) trial. */
  readonly bestTrial?: number
  readonly messages: readonly SweepMessage[]
  readonly finished?: { readonly status: SweepStatus; readonly reason: string; readonly durationMs: number }
  readonly lastEventAt?: number
  readonly verbose: boolean
}

export function initialSweepState(opts: { verbose?: boolean } = {}): SweepUiState {
  return { parameters: [], trials: [], messages: [], verbose: opts.verbose ?? false }
}

/** Whether `a` is a better objective than `b` for the goal (a defined value beats none). */
export function better(a: number | undefined, b: number | undefined, goal: Goal): boolean {
  if (a === undefined || !Number.isFinite(a)) return false
  if (b === undefined || !Number.isFinite(b)) return true
  return goal === 'maximize' ? a > b : a < b
}

function pickBestTrial(trials: readonly TrialRow[], goal: Goal): number | undefined {
  let best: TrialRow | undefined
  for (const t of trials) if ((t.state === 'completed' || t.state === 'pruned') && better(t.best, best?.best, goal)) best = t
  return best?.number
}

export function reduceSweep(state: SweepUiState, e: SweepEvent): SweepUiState {
  const at = Date.parse(e.time)
  const s: SweepUiState = { ...state, lastEventAt: Number.isNaN(at) ? state.lastEventAt : at }
  const goal = s.metric?.goal ?? 'maximize'
  const update = (n: number, f: (t: TrialRow) => TrialRow): SweepUiState => {
    const i = s.trials.findIndex((t) => t.number === n)
    // A trial whose start was not seen (events replayed from the middle): show it anyway.
    const base: TrialRow = i >= 0 ? s.trials[i]! : { number: n, assignment: {}, state: 'running', evaluations: 0, resumed: false }
    const next = f(base)
    const trials = i >= 0 ? s.trials.map((t, j) => (j === i ? next : t)) : [...s.trials, next].sort((a, b) => a.number - b.number)
    return { ...s, trials }
  }
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
        finished: undefined,
      }
    case 'TrialStarted':
      return update(e.trial, (t) => ({
        ...t,
        assignment: e.assignment,
        state: 'running',
        runDir: e.runDir,
        startedAt: at,
        durationMs: undefined,
        resumed: e.resumed,
        reason: undefined,
        run: initialState({ verbose: s.verbose }),
      }))
    case 'TrialEvent':
      return update(e.trial, (t) => {
        const run = reduce(t.run ?? initialState({ verbose: s.verbose }), e.event)
        const step = e.event._tag === 'Progress' || e.event._tag === 'TrainLog' ? e.event.step : t.step
        return { ...t, run, step }
      })
    case 'TrialMetrics': {
      const next = update(e.trial, (t) => ({
        ...t,
        evaluations: Math.max(t.evaluations, e.evaluation),
        step: Math.max(t.step ?? 0, e.step),
        latest: e.value,
        best: better(e.value, t.best, goal) ? e.value : t.best,
      }))
      return next
    }
    case 'TrialFinished': {
      const next = update(e.trial, (t) => ({
        ...t,
        state: e.state,
        durationMs: e.durationMs,
        reason: e.reason,
        // The final objective of a completed trial is its value (it may be the best model's, not the last).
        best: e.value !== undefined && Number.isFinite(e.value) ? (e.state === 'completed' ? e.value : better(e.value, t.best, goal) ? e.value : t.best) : t.best,
        run: undefined,
      }))
      const withBest = { ...next, bestTrial: pickBestTrial(next.trials, goal) }
      if (e.state === 'failed' || (e.state === 'pruned' && s.verbose)) {
        const text = `trial ${e.trial} ${e.state}${e.reason ? `: ${e.reason.split('\n').find((l) => l.trim() !== '') ?? ''}` : ''}`
        return { ...withBest, messages: [...withBest.messages, { id: withBest.messages.length, level: e.state === 'failed' ? 'warn' : 'info', text }] }
      }
      return withBest
    }
    case 'SweepLog':
      return { ...s, messages: [...s.messages, { id: s.messages.length, level: e.level, text: e.message }] }
    case 'SweepFinished':
      return {
        ...s,
        sweepDir: e.sweepDir,
        finished: { status: e.status, reason: e.reason, durationMs: e.durationMs },
        bestTrial: e.best?.trial ?? s.bestTrial,
        // Trials still running when the sweep ends were stopped with it (they resume with it).
        trials: s.trials.map((t) => (t.state === 'running' ? { ...t, run: undefined } : t)),
      }
  }
}

export interface SweepCounts {
  readonly running: number
  readonly completed: number
  readonly pruned: number
  readonly failed: number
  readonly finished: number
}

export function counts(s: SweepUiState): SweepCounts {
  const c = { running: 0, completed: 0, pruned: 0, failed: 0 }
  for (const t of s.trials) c[t.state]++
  return { ...c, finished: c.completed + c.pruned + c.failed }
}

/**
 * Seconds left, from the mean duration of finished trials and the concurrency, or undefined when
 * nothing has finished or the total is unknown.
 */
export function sweepEta(s: SweepUiState, now: number): number | undefined {
  if (s.totalTrials === undefined) return undefined
  const done = s.trials.filter((t) => t.state !== 'running' && t.durationMs !== undefined)
  if (done.length === 0) return undefined
  const mean = done.reduce((a, t) => a + t.durationMs!, 0) / done.length / 1000
  const running = s.trials.filter((t) => t.state === 'running')
  const left = Math.max(0, s.totalTrials - done.length - running.length)
  const par = Math.max(1, s.concurrency ?? 1)
  const runningLeft = running.reduce((a, t) => a + Math.max(0, mean - (t.startedAt === undefined ? 0 : (now - t.startedAt) / 1000)), 0)
  return (runningLeft + left * mean) / par
}
