// Asynchronous successive halving, as Optuna's SuccessiveHalvingPruner (min_early_stopping_rate 0,
// no bootstrap) and Ray's ASHAScheduler. Rung k sits at minSteps * reductionFactor^k evaluations
// (below maxSteps when given). When a trial reaches a rung, it is compared with every trial that
// reached that rung before it (in any state: pruned ones keep their rung values) and goes on only
// if it is in the top 1/reductionFactor of them, itself included:
// - with m values at the rung (its own included), it must rank within the best floor(m / rf);
// - with fewer than rf values (floor is 0), Optuna's rule: it must be the best so far (ties pass).
// So the first trial at a rung always goes on, a trial tied with the best always goes on, and a
// trial as good as the best one never stops. A NaN value stops the trial.
// Nothing is stored: a trial's value at rung k is its value at the first evaluation at or past
// the rung, so the decision is replayed from the reported values alone (on resume).
import type { Goal, Pruner, TrialView } from '../model.ts'

export interface AshaOptions {
  readonly minSteps: number
  readonly reductionFactor: number
  readonly maxSteps?: number
}

export function ashaPruner(options: AshaOptions): Pruner {
  const { minSteps, reductionFactor: rf, maxSteps } = options
  if (!(Number.isInteger(minSteps) && minSteps >= 1)) throw new RangeError(`asha min_steps must be a whole number >= 1, got ${minSteps}`)
  if (!(Number.isInteger(rf) && rf >= 2)) throw new RangeError(`asha reduction_factor must be a whole number >= 2, got ${rf}`)
  const rungStep = (k: number) => minSteps * rf ** k
  return {
    name: 'asha',
    shouldPrune(trial: TrialView, evaluation: number, history: readonly TrialView[], goal: Goal): boolean {
      const value = trial.intermediate.get(evaluation)
      if (value === undefined) return false
      for (let k = 0; rungStep(k) <= evaluation; k++) {
        const step = rungStep(k)
        if (maxSteps !== undefined && step >= maxSteps) break
        // Check each rung once: at the trial's first evaluation at or past it.
        if (rungEvaluation(trial, step) !== evaluation) continue
        if (Number.isNaN(value)) return true
        const competing = [value]
        for (const other of history) {
          if (other.number === trial.number) continue
          const at = rungEvaluation(other, step)
          if (at !== undefined) competing.push(other.intermediate.get(at)!)
        }
        if (!promotable(value, competing, rf, goal)) return true
      }
      return false
    },
  }
}

/** The trial's first evaluation at or past `step`, if it got there. */
function rungEvaluation(t: TrialView, step: number): number | undefined {
  let first: number | undefined
  for (const e of t.intermediate.keys()) if (e >= step && (first === undefined || e < first)) first = e
  return first
}

/** Optuna's _is_trial_promotable_to_next_rung. */
function promotable(value: number, competing: number[], rf: number, goal: Goal): boolean {
  const idx = Math.max(0, Math.floor(competing.length / rf) - 1)
  // NaN values sort last, as in numpy; a comparison with NaN is false.
  const sorted = [...competing].sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b))
  return goal === 'maximize' ? value >= sorted[sorted.length - 1 - idx]! : value <= sorted[idx]!
}
