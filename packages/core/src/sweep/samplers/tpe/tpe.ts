// The Tree-structured Parzen Estimator as Optuna's TPESampler does it (optuna/samplers/_tpe/
// sampler.py), with Optuna 5's defaults: multivariate (joint kernels, widths per parameter) and
// constant_liar (running trials count as bad). Until `startupTrials` trials have finished
// (completed or pruned) it draws at random. Then:
// 1. Split the finished trials: the best gamma(n) = min(ceil(0.15 n), 25) of n go to "below" (good),
//    completed ones first by value, then pruned ones ranked by how far they got and their last
//    intermediate value; the rest, and every running trial, go to "above" (bad).
// 2. Fit a Parzen estimator l(x) to below and g(x) to above (parzen-estimator.ts).
// 3. Draw 24 candidates from l and take the one with the largest log l(x) - log g(x).
// One deviation: a sweep trial costs a training run, so when the winner is a configuration some
// trial already has (possible only with choices or quantised numbers), the best-scoring candidate
// that is new is taken instead, and when every candidate is taken, a random unused configuration
// (random.ts), so a configuration repeats only once the space has no other. Independent
// (multivariate: false), the per-parameter argmaxes come first, then the joint draws. Failed
// trials are ignored, as in Optuna.
// Determinism: the generator is seeded by (seed, number of trials so far), never by hidden state.
import { Rng, deriveSeed } from '../../../random/rng.ts'
import type { Assignment, Goal, Sampler, SearchSpace, TrialView } from '../../model.ts'
import { configurationKey } from '../configuration.ts'
import { numericContains, resolveDomain, type ResolvedDomain } from '../domain.ts'
import { drawUnused } from '../random.ts'
import { ParzenEstimator, type EstimatorDomain, type ParzenParameters } from './parzen-estimator.ts'

export interface TpeOptions {
  /** Random trials before TPE takes over (Optuna: 10). */
  readonly startupTrials?: number
  /** Candidates drawn from l(x) per suggestion (Optuna: 24). */
  readonly eiCandidates?: number
  /** Weight of the prior kernel (Optuna: 1). */
  readonly priorWeight?: number
  /** Joint kernels over all parameters (Optuna's multivariate=True), or one estimator per parameter. */
  readonly multivariate?: boolean
  /** Running trials join the bad group, so parallel trials spread out (Optuna's constant_liar). */
  readonly constantLiar?: boolean
  readonly considerMagicClip?: boolean
  readonly considerEndpoints?: boolean
  /** How many of n finished trials are "good" (here min(ceil(0.15 n), 25); Optuna: min(ceil(0.1 n), 25)). */
  readonly gamma?: (n: number) => number
}

export const TPE_DEFAULTS = {
  startupTrials: 10,
  eiCandidates: 24,
  priorWeight: 1,
  multivariate: true,
  constantLiar: true,
  considerMagicClip: true,
  considerEndpoints: false,
} as const

/**
 * The good group's size: the best 15% of the finished trials, at most 25. Optuna takes 10%; with
 * the per-parameter kernel widths, 15% (one of the splits Watanabe's TPE study, arXiv:2304.11127,
 * compares) gave a lower median regret on all four problems of `npm run bench:search` (60 seeds:
 * Hartmann-6 at 50 trials 0.40 against 0.52, Branin 0.056 against 0.125).
 */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.15 * n), 25)
}

export function tpeSampler(seed: number, options: TpeOptions = {}): Sampler {
  const o = { ...TPE_DEFAULTS, gamma: defaultGamma, ...options }
  const params: ParzenParameters = {
    priorWeight: o.priorWeight,
    considerMagicClip: o.considerMagicClip,
    considerEndpoints: o.considerEndpoints,
    multivariate: o.multivariate,
  }
  return {
    name: 'tpe',
    next(space: SearchSpace, history: readonly TrialView[], goal: Goal): Assignment {
      const rng = new Rng(deriveSeed(seed, history.length))
      const finished = history.filter((t) => t.state === 'completed' || t.state === 'pruned')
      if (finished.length < o.startupTrials) return drawUnused(space, history, rng)

      const domains = space.map((p) => resolveDomain(p.name, p.domain))
      const modelled = domains.flatMap((d, i) => (d.kind === 'fixed' ? [] : [i]))
      const fixed: Record<string, unknown> = {}
      domains.forEach((d, i) => {
        if (d.kind === 'fixed') fixed[space[i]!.name] = d.value
      })
      if (modelled.length === 0) return fixed

      const considered = [...history]
        .sort((a, b) => a.number - b.number)
        .filter((t) => t.state === 'completed' || t.state === 'pruned' || (o.constantLiar && t.state === 'running'))
      const n = considered.filter((t) => t.state !== 'running').length
      const { below, above } = splitTrials(considered, o.gamma(n), goal)

      const toAssignment = (idx: readonly number[], values: readonly number[]): Assignment => {
        const point: Record<string, unknown> = { ...fixed }
        idx.forEach((i, j) => (point[space[i]!.name] = external(domains[i] as EstimatorDomain, values[j]!)))
        // Keep the space's parameter order in the assignment.
        return Object.fromEntries(space.map((p) => [p.name, point[p.name]]))
      }

      const taken = new Set(history.map((t) => configurationKey(space, t.assignment)))
      const isNew = (values: readonly number[]) => !taken.has(configurationKey(space, toAssignment(modelled, values)))
      let ranked: Candidate[]
      if (o.multivariate) {
        ranked = suggest(modelled, domains, space, below, above, params, rng, o.eiCandidates)
      } else {
        // One estimator per parameter, each with its own candidates and argmax (Optuna's default).
        // The joint candidates (k-th draw of every parameter) scored by the sum of their
        // per-parameter scores come after the per-parameter argmax, in case that one is taken.
        const perParameter = modelled.map((i) => suggest([i], domains, space, below, above, params, rng, o.eiCandidates, false))
        const best: Candidate = { values: perParameter.map((cs) => bestOf(cs).values[0]!), score: Infinity }
        const joint = Array.from({ length: o.eiCandidates }, (_, k) => ({
          values: perParameter.map((cs) => cs[k]!.values[0]!),
          score: perParameter.reduce((s, cs) => s + cs[k]!.score, 0),
        }))
        ranked = [best, ...byScore(joint)]
      }
      const fresh = ranked.find((c) => isNew(c.values))
      // Every candidate is a configuration some trial has: a random unused one, where there is one.
      return fresh ? toAssignment(modelled, fresh.values) : drawUnused(space, history, rng)
    },
  }
}

interface Candidate {
  readonly values: readonly number[]
  readonly score: number
}

/** Candidates from l(x) over the parameters `idx`, best log l(x) - log g(x) first (stable, as argmax). */
function suggest(
  idx: readonly number[],
  domains: readonly ResolvedDomain[],
  space: SearchSpace,
  below: readonly TrialView[],
  above: readonly TrialView[],
  params: ParzenParameters,
  rng: Rng,
  nCandidates: number,
  sorted = true,
): Candidate[] {
  const ds = idx.map((i) => domains[i] as EstimatorDomain)
  const names = idx.map((i) => space[i]!.name)
  const l = new ParzenEstimator(observations(below, names, ds), ds, params)
  const g = new ParzenEstimator(observations(above, names, ds), ds, params)
  const samples = l.sample(rng, nCandidates)
  const logL = l.logPdf(samples)
  const logG = g.logPdf(samples)
  const candidates = samples.map((values, k) => ({ values, score: logL[k]! - logG[k]! }))
  return sorted ? byScore(candidates) : candidates
}

/** Best score first; ties keep draw order (as argmax). */
function byScore(cs: readonly Candidate[]): Candidate[] {
  return cs
    .map((c, k) => ({ c, k }))
    .sort((a, b) => b.c.score - a.c.score || a.k - b.k)
    .map(({ c }) => c)
}

function bestOf(cs: readonly Candidate[]): Candidate {
  return byScore(cs)[0]!
}

/** Trials' values of the parameters, in the estimator's form; trials lacking one (a changed space) are left out. */
function observations(trials: readonly TrialView[], names: readonly string[], ds: readonly EstimatorDomain[]): number[][] {
  const out: number[][] = []
  for (const t of trials) {
    const row: number[] = []
    for (let j = 0; j < names.length; j++) {
      const d = ds[j]!
      const v = t.assignment[names[j]!]
      const x = d.kind === 'choice' ? d.indexOf(v) : numericContains(d, v) ? v : undefined
      if (x === undefined) break
      row.push(x)
    }
    if (row.length === names.length) out.push(row)
  }
  return out
}

function external(d: EstimatorDomain, x: number): unknown {
  if (d.kind === 'choice') return d.values[x]
  return d.integer ? Math.round(x) : x
}

/**
 * Optuna's _split_trials for one objective: the best `nBelow` completed trials are good; if fewer
 * completed trials than that, the best pruned ones fill up (further first, then by last value);
 * everything else, running trials included, is bad. Both groups keep trial-number order.
 */
export function splitTrials(trials: readonly TrialView[], nBelow: number, goal: Goal): { below: TrialView[]; above: TrialView[] } {
  const sign = goal === 'minimize' ? 1 : -1
  const completed = trials.filter((t) => t.state === 'completed')
  const pruned = trials.filter((t) => t.state === 'pruned')
  const running = trials.filter((t) => t.state === 'running')
  const loss = (t: TrialView) => (t.value === undefined || Number.isNaN(t.value) ? Infinity : sign * t.value)
  const byValue = [...completed].sort((a, b) => compare(loss(a), loss(b)))
  const nc = Math.min(nBelow, byValue.length)
  const byProgress = [...pruned].sort((a, b) => {
    const [sa, va] = prunedScore(a, sign)
    const [sb, vb] = prunedScore(b, sign)
    return sa - sb || compare(va, vb)
  })
  const np = Math.min(nBelow - nc, byProgress.length)
  const below = [...byValue.slice(0, nc), ...byProgress.slice(0, np)]
  const above = [...byValue.slice(nc), ...byProgress.slice(np), ...running]
  const byNumber = (a: TrialView, b: TrialView) => a.number - b.number
  return { below: below.sort(byNumber), above: above.sort(byNumber) }
}

/** Optuna's _get_pruned_trial_score: (-last evaluation, loss there); no evaluation ranks last. */
function prunedScore(t: TrialView, sign: number): [number, number] {
  if (t.intermediate.size === 0) return [1, 0]
  const step = Math.max(...t.intermediate.keys())
  const v = t.intermediate.get(step)!
  return [-step, Number.isNaN(v) ? Infinity : sign * v]
}

function compare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0
}
