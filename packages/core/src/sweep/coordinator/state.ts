// What the coordinator knows about each trial, built by folding record entries in order. The same
// fold serves the live sweep (each entry as it is appended) and a resumed one (the whole record),
// so a resumed sweep starts from exactly the state the killed one had written.
import type { Assignment, Goal, TrialState, TrialView } from '../model.ts'
import type { SweepStatus } from '../events.ts'
import type { RecipeFileChange, RecordEntry } from './record.ts'
import { bestOf, betterObjective, type RankedTrial } from '../ranking.ts'

export interface TrialInfo {
  readonly number: number
  readonly assignment: Assignment
  readonly runDir: string
  state: TrialState
  value?: number
  reason?: string
  /** Objective per evaluation (1-based), and which (stage@step) evaluations were seen. */
  readonly intermediate: Map<number, number>
  readonly seen: Set<string>
  /** Metrics of the latest evaluation. */
  lastMetrics?: Readonly<Record<string, number>>
  /** Latest training step known (from evaluations, progress or the result). */
  step: number
  /** Times an executor started it (1 + resumptions). */
  starts: number
  /** Time spent running, over all its attempts; an attempt cut by a kill counts up to its last record line. */
  activeMs: number
  attemptStart?: number
  lastSeen?: number
  assignedAt: string
  finishedAt?: string
  /**
   * The recipe it was assigned under. It keeps it when continued after a change of recipe: a
   * resumed trial runs its own resolved pipeline (and refuses stage code that changed).
   */
  readonly recipe: number
}

/** A change of recipe, as the record holds it. */
export interface RecipeChange {
  readonly recipe: number
  readonly time: string
  readonly files: readonly RecipeFileChange[]
}

export interface SweepState {
  readonly trials: Map<number, TrialInfo>
  /** Failed trials in a row, in the order they finished (a completed or pruned trial resets it). */
  consecutiveFailures: number
  ended?: { readonly status: Exclude<SweepStatus, 'interrupted'>; readonly reason: string }
  /** The recipe new trials run under: 1, then one more at each accepted change. */
  recipe: number
  /** The changes of recipe, in order (none for a sweep whose files never changed). */
  readonly recipeChanges: RecipeChange[]
}

export function emptyState(): SweepState {
  return { trials: new Map(), consecutiveFailures: 0, recipe: 1, recipeChanges: [] }
}

/** Applies one record entry. Returns false when the entry changes nothing (e.g. a repeated result). */
export function applyEntry(s: SweepState, e: RecordEntry): boolean {
  const t = 'trial' in e ? s.trials.get(e.trial) : undefined
  const at = Date.parse(e.time)
  if (t) t.lastSeen = Math.max(t.lastSeen ?? at, at)
  switch (e.type) {
    case 'sweep':
      return true
    case 'ended':
      s.ended = { status: e.status, reason: e.reason }
      return true
    case 'recipe':
      s.recipe = e.recipe
      s.recipeChanges.push({ recipe: e.recipe, time: e.time, files: e.files })
      return true
    case 'assigned':
      if (s.trials.has(e.trial)) return false
      s.trials.set(e.trial, {
        number: e.trial,
        assignment: e.assignment,
        runDir: e.runDir,
        state: 'running',
        intermediate: new Map(),
        seen: new Set(),
        step: 0,
        starts: 0,
        activeMs: 0,
        assignedAt: e.time,
        lastSeen: at,
        recipe: s.recipe,
      })
      return true
    case 'started':
      if (!t || t.state !== 'running') return false
      if (t.attemptStart !== undefined) t.activeMs += Math.max(0, (t.lastSeen ?? t.attemptStart) - t.attemptStart)
      t.attemptStart = at
      t.lastSeen = at
      t.starts++
      return true
    case 'metrics':
      if (!t || t.state !== 'running' || t.seen.has(e.key)) return false
      t.seen.add(e.key)
      t.intermediate.set(e.evaluation, e.value)
      t.lastMetrics = e.metrics
      t.step = Math.max(t.step, e.step)
      return true
    case 'finished':
      if (!t || t.state !== 'running') return false
      t.state = e.state
      if (e.value !== undefined) t.value = e.value
      if (e.reason !== undefined) t.reason = e.reason
      if (e.step !== undefined) t.step = Math.max(t.step, e.step)
      if (t.attemptStart !== undefined) t.activeMs += Math.max(0, at - t.attemptStart)
      t.attemptStart = undefined
      t.finishedAt = e.time
      s.consecutiveFailures = e.state === 'failed' ? s.consecutiveFailures + 1 : 0
      return true
  }
}

export function replay(entries: readonly RecordEntry[]): SweepState {
  const s = emptyState()
  for (const e of entries) applyEntry(s, e)
  return s
}

export function viewOf(t: TrialInfo): TrialView {
  return { number: t.number, assignment: t.assignment, state: t.state, ...(t.value !== undefined ? { value: t.value } : {}), intermediate: t.intermediate }
}

/** Every trial, in trial-number order: the history samplers and pruners see. */
export function history(s: SweepState): TrialView[] {
  return [...s.trials.values()].sort((a, b) => a.number - b.number).map(viewOf)
}

/** `a` is better than `b` for this goal: the ranking's own test. */
export const better = betterObjective

/** What ranking reads of a trial (its objective as `objective` says: the final value by default). */
export function rankOf(t: TrialInfo, objective: number | undefined = t.value, now = Date.now()): RankedTrial {
  return { number: t.number, state: t.state, ...(objective !== undefined ? { objective } : {}), steps: t.step, durationMs: durationOf(t, now) }
}

/** The best completed trial, by the sweep's one ranking rule (ties: fewer steps, shorter, lower number). */
export function bestTrial(s: SweepState, goal: Goal): TrialInfo | undefined {
  return bestOf(s.trials.values(), goal, (t) => rankOf(t), (r) => r.state === 'completed')
}

/** Wall time of a trial's attempts so far (the running attempt up to `now`). */
export function durationOf(t: TrialInfo, now = Date.now()): number {
  return t.activeMs + (t.attemptStart !== undefined && t.state === 'running' ? Math.max(0, now - t.attemptStart) : 0)
}
