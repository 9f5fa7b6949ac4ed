// Bayesian optimisation with a Gaussian process, as Optuna's GPSampler: until `startupTrials`
// trials have finished it draws at random (as random search with the same seed); then
// 1. the completed trials' values, as scores to maximise (negated when minimising), standardised;
// 2. a GP fitted to them (regressor.ts: Matern 5/2 with ARD, maximum a posteriori);
// 3. the point of largest log expected improvement over the best score (acquisition.ts).
// Running trials (and pruned ones, whose last value is an early reading, not the objective) are
// handled by the "kriging believer" (Ginsbourger et al., "Kriging is well-suited to parallelize
// optimization", 2010; BoTorch's fantasies are its sampled form): the GP, with the kernel fitted to
// the completed trials, is conditioned on each at its own prediction, and the incumbent counts
// those predictions. The mean stays as it was, the uncertainty at a running trial goes, and so
// does the expected improvement there: the next ask is another point. How far away depends on
// the model: early on, a lengthscale; once it is sure where the optimum is, close to it (those
// points are all near-optimal). The constant liar with the worst score so far (TPE's rule, and
// Ginsbourger's "CL-max") spreads further but wrecks the model around the running trials, which
// sit where the optimum is: with 4 trials in flight, median regret on Branin at 50 trials was 0.44
// with it against under 1e-4 with the believer (8-30 seeds).
// A suggestion never repeats a configuration some trial has while another is available: the next
// best point of the acquisition's ranking, else a random unused one (random.ts).
// Determinism: every draw comes from a generator seeded by (seed, number of trials so far).
import { Rng, deriveSeed } from '../../../random/rng.ts'
import type { Assignment, Goal, Sampler, SearchSpace, TrialView } from '../../model.ts'
import { configurationKey } from '../configuration.ts'
import { drawUnused } from '../random.ts'
import { maximiseAcquisition, type AcquisitionOptions } from './acquisition.ts'
import { decode, encode, encodingOf } from './encoding.ts'
import { GaussianProcess, fitKernelParameters } from './regressor.ts'

export interface GpOptions extends Partial<AcquisitionOptions> {
  /** Random trials before the GP takes over (Optuna: 10). */
  readonly startupTrials?: number
  /** Running and pruned trials conditioned on at the GP's prediction (see above); off: they are ignored. */
  readonly believer?: boolean
}

/**
 * Optuna's start-up trials; half its random samples (2048) and local searches (10) for the
 * acquisition, which halves the time of an ask at 100 trials (~0.1 s on 2 busy cores).
 */
export const GP_DEFAULTS = { startupTrials: 10, samples: 1024, localSearches: 5, believer: true } as const

export function gpSampler(seed: number, options: GpOptions = {}): Sampler {
  const o = { ...GP_DEFAULTS, ...options }
  return {
    name: 'gp',
    next(space: SearchSpace, history: readonly TrialView[], goal: Goal): Assignment {
      const rng = new Rng(deriveSeed(seed, history.length))
      const e = encodingOf(space)
      const ordered = [...history].sort((a, b) => a.number - b.number)
      const finished = ordered.filter((t) => t.state === 'completed' || t.state === 'pruned')
      const observed: { x: Float64Array; score: number }[] = []
      const pending: Float64Array[] = []
      for (const t of ordered) {
        const x = encode(e, t.assignment)
        if (!x) continue
        if (t.state === 'completed' && typeof t.value === 'number') observed.push({ x, score: goal === 'minimize' ? -t.value : t.value })
        else if (t.state === 'running' || t.state === 'pruned') pending.push(x)
      }
      if (finished.length < o.startupTrials || observed.length < 2 || e.coordinates.length === 0) return drawUnused(space, history, rng)

      const kept = fitSet(observed)
      const ys = standardise(kept.map((p) => p.score))
      const xs = kept.map((p) => p.x)
      const categorical = e.coordinates.map((c) => c.kind === 'categorical')
      const params = fitKernelParameters(xs, ys, categorical)
      let gp = GaussianProcess.condition(params, xs, ys, categorical)
      if (!gp) return drawUnused(space, history, rng)
      let f0 = Math.max(...ys)
      if (o.believer && pending.length > 0) {
        const believed = pending.map((x) => gp!.posterior(x).mean)
        const withPending = GaussianProcess.condition(params, [...xs, ...pending], Float64Array.from([...ys, ...believed]), categorical)
        if (withPending) {
          gp = withPending
          f0 = Math.max(f0, ...believed)
        }
      }
      const best = xs[ys.indexOf(Math.max(...ys))]!
      const ranked = maximiseAcquisition(gp, f0, e, rng, o, [best])
      const taken = new Set(history.map((t) => configurationKey(space, t.assignment)))
      for (const r of ranked) {
        const a = decode(e, r.x)
        if (!taken.has(configurationKey(space, a))) return a
      }
      return drawUnused(space, history, rng)
    },
  }
}

/** Past this many completed trials the GP is fitted to a subset (fitting costs n^3: 0.1 s an ask at 100, ~3 s at 300). */
export const MAX_FIT_TRIALS = 300

/** The completed trials the GP is fitted to: all of them, or the best half of MAX_FIT_TRIALS and the most recent of the rest. */
function fitSet<T extends { score: number }>(observed: readonly T[]): T[] {
  if (observed.length <= MAX_FIT_TRIALS) return [...observed]
  const half = MAX_FIT_TRIALS / 2
  const score = (x: number) => (Number.isNaN(x) ? -Infinity : x)
  const byScore = observed.map((p, i) => ({ p, i })).sort((a, b) => score(b.p.score) - score(a.p.score) || a.i - b.i)
  const best = new Set(byScore.slice(0, half).map((x) => x.i))
  const recent = observed.map((_, i) => i).filter((i) => !best.has(i)).slice(-half)
  const keep = new Set([...best, ...recent])
  return observed.filter((_, i) => keep.has(i))
}

/**
 * Scores as zero-mean, unit-variance values (Optuna's standardisation, its floor on the spread
 * included); a non-finite score (a diverged run) is clipped to the finite ones' range, NaN taken
 * as the worst.
 */
export function standardise(scores: readonly number[]): Float64Array {
  const finite = scores.filter(Number.isFinite)
  const lo = finite.length > 0 ? Math.min(...finite) : 0
  const hi = finite.length > 0 ? Math.max(...finite) : 0
  const clipped = scores.map((s) => (Number.isNaN(s) ? lo : Math.min(hi, Math.max(lo, s))))
  const mean = clipped.reduce((a, b) => a + b, 0) / clipped.length
  const sd = Math.sqrt(clipped.reduce((a, b) => a + (b - mean) ** 2, 0) / clipped.length)
  return Float64Array.from(clipped, (s) => (s - mean) / Math.max(sd, 1e-10))
}
