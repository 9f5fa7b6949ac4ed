// The one order of a sweep's trials: the leaderboard, best.yaml, the sweep view (UI, plain lines),
// the report and the search API all rank with `compareTrials`, so they never disagree on a tie.
// The rule (documented in the README's sweep section):
//   1. by state: completed, then pruned, then running, then failed;
//   2. by objective, better first (a trial with a value before one without);
//   3. an equal objective: the cheaper trial first: fewer optimizer steps, then shorter duration;
//   4. then the lower trial number (trials without an objective: by number alone).
// Equal results at a lower cost are the better result: the cheaper recipe is the one to keep.
import type { Goal, TrialState } from './model.ts'

/** What ranking reads of a trial. */
export interface RankedTrial {
  readonly number: number
  readonly state: TrialState
  /** The objective it is ranked by; undefined (or not finite) while it has none. */
  readonly objective?: number
  /** Optimizer steps it trained (its latest step); unknown counts as more than any. */
  readonly steps?: number
  /** Time it ran, in milliseconds; unknown counts as longer than any. */
  readonly durationMs?: number
}

const STATE_ORDER: Record<TrialState, number> = { completed: 0, pruned: 1, running: 2, failed: 3 }

const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v)

/** Whether objective `a` is strictly better than `b` for the goal. */
export function betterObjective(goal: Goal, a: number, b: number): boolean {
  return goal === 'maximize' ? a > b : a < b
}

/** Less cost first; an unknown cost after every known one. */
function byCost(a: number | undefined, b: number | undefined): number {
  if (finite(a) && finite(b)) return a - b
  return finite(a) ? -1 : finite(b) ? 1 : 0
}

/** The comparator: negative when `a` ranks before `b`. */
export function compareTrials(goal: Goal): (a: RankedTrial, b: RankedTrial) => number {
  return (a, b) => {
    if (STATE_ORDER[a.state] !== STATE_ORDER[b.state]) return STATE_ORDER[a.state] - STATE_ORDER[b.state]
    const va = finite(a.objective) ? a.objective : undefined
    const vb = finite(b.objective) ? b.objective : undefined
    if ((va === undefined) !== (vb === undefined)) return va === undefined ? 1 : -1
    if (va === undefined || vb === undefined) return a.number - b.number
    if (va !== vb) return betterObjective(goal, va, vb) ? -1 : 1
    return byCost(a.steps, b.steps) || byCost(a.durationMs, b.durationMs) || a.number - b.number
  }
}

/** `items` in rank order (a sorted copy), each read through `rank`. */
export function rankTrials<T>(items: Iterable<T>, goal: Goal, rank: (t: T) => RankedTrial): T[] {
  const cmp = compareTrials(goal)
  return [...items].map((t) => ({ t, r: rank(t) })).sort((x, y) => cmp(x.r, y.r)).map((x) => x.t)
}

/** The first in rank order among those `eligible` with an objective; undefined when there is none. */
export function bestOf<T>(items: Iterable<T>, goal: Goal, rank: (t: T) => RankedTrial, eligible: (r: RankedTrial) => boolean): T | undefined {
  return rankTrials([...items].filter((t) => { const r = rank(t); return eligible(r) && finite(r.objective) }), goal, rank)[0]
}
