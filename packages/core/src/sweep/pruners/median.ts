// Median stopping, as Optuna's MedianPruner (PercentilePruner at 50, interval 1): once
// `startupTrials` trials have completed, a trial past its first `warmupSteps` evaluations stops
// when its best value so far is worse than the median of the completed trials' values at the same
// evaluation, provided at least `minTrials` of them reported there (else it goes on). The median
// interpolates between the middle two (numpy's percentile) and ignores NaN; a trial whose values
// are all NaN stops.
import type { Goal, Pruner, TrialView } from '../model.ts'

export interface MedianOptions {
  readonly warmupSteps: number
  readonly startupTrials: number
  readonly minTrials: number
}

export function medianPruner(options: MedianOptions): Pruner {
  const { warmupSteps, startupTrials, minTrials } = options
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) throw new RangeError(`median warmup must be a whole number >= 0, got ${warmupSteps}`)
  if (!(Number.isInteger(startupTrials) && startupTrials >= 0)) throw new RangeError(`median startup_trials must be a whole number >= 0, got ${startupTrials}`)
  if (!(Number.isInteger(minTrials) && minTrials >= 1)) throw new RangeError(`median min_trials must be a whole number >= 1, got ${minTrials}`)
  return {
    name: 'median',
    shouldPrune(trial: TrialView, evaluation: number, history: readonly TrialView[], goal: Goal): boolean {
      const completed = history.filter((t) => t.state === 'completed' && t.number !== trial.number)
      if (completed.length === 0 || completed.length < startupTrials) return false
      if (evaluation <= warmupSteps) return false
      const own = [...trial.intermediate].filter(([e, v]) => e <= evaluation && !Number.isNaN(v)).map(([, v]) => v)
      if (own.length === 0) return trial.intermediate.size > 0
      const best = goal === 'maximize' ? Math.max(...own) : Math.min(...own)
      const others = completed.flatMap((t) => {
        const v = t.intermediate.get(evaluation)
        return v === undefined ? [] : [v]
      })
      if (others.length < minTrials) return false
      const m = median(others)
      if (Number.isNaN(m)) return false
      return goal === 'maximize' ? best < m : best > m
    },
  }
}

/** numpy.nanpercentile(values, 50): NaN ignored, linear between the middle two. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = (v.length - 1) / 2
  const lo = Math.floor(mid)
  return v[lo]! + (v[Math.ceil(mid)]! - v[lo]!) * (mid - lo)
}
