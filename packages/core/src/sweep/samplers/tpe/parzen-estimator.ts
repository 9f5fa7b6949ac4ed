// A Parzen estimator as Optuna's TPE builds one (optuna/samplers/_tpe/parzen_estimator.py and
// probability_distributions.py): a weighted mixture with one kernel per observed trial plus a prior
// kernel. Multivariate, a kernel is a product over the parameters, so samples keep parameters that
// were good together. Per parameter:
// - a real or integer: a Gaussian truncated to [low, high], on log(x) for a log scale; with a
//   step q (integers: 1) the bounds widen by q/2 and the kernel's mass on [x - q/2, x + q/2] is the
//   probability of x. Bandwidth: multivariate, one per parameter from the observations' own spread
//   (Scott's rule, as Optuna 5 computes widths per dimension), at most Optuna 3.1's 0.2 *
//   n^(-1 / (d + 4)) * (high - low), which is also the width below 2 distinct observations;
//   univariate, the larger gap to the neighbouring observations (the prior's mean counts, the ends
//   do not unless consider_endpoints). Then the magic clip: at least (high - low) / min(100, n + 2),
//   at most high - low. The prior kernel sits mid-range with sigma high - low.
// - a choice: each observation's kernel puts prior_weight / (n + 1) on every choice and 1 more on
//   its own, normalised; the prior kernel is uniform.
// Kernel weights: 1 each (a ramp from 1/n for the oldest when n > 25), prior_weight for the prior.
import type { Rng } from '../../../random/rng.ts'
import { snapToStep, type ChoiceDomain, type NumericDomain } from '../domain.ts'
import { LOG_SQRT_2PI, logGaussMass, truncnormPpf } from './truncated-normal.ts'

export interface ParzenParameters {
  readonly priorWeight: number
  readonly considerMagicClip: boolean
  readonly considerEndpoints: boolean
  readonly multivariate: boolean
}

/** A parameter the estimator models; observations of a choice are indices into its values. */
export type EstimatorDomain = NumericDomain | ChoiceDomain

interface ChoiceKernels {
  readonly kind: 'choice'
  /** Row k: kernel k's probabilities over the choices. */
  readonly probs: readonly Float64Array[]
}

interface NumericKernels {
  readonly kind: 'numeric'
  readonly domain: NumericDomain
  readonly mus: Float64Array
  readonly sigmas: Float64Array
  /** The truncation bounds in the kernel's space (log, widened by q/2). */
  readonly low: number
  readonly high: number
  /** log of each kernel's standard-normal mass within [low, high]: its normaliser. */
  readonly logMass: Float64Array
  /** log(sqrt(2 pi) sigma) + logMass: the whole normaliser of a continuous kernel's density. */
  readonly logNorm: Float64Array
}

type Kernels = ChoiceKernels | NumericKernels

const EPS = 1e-12

/**
 * Multivariate kernel width per parameter, in units of the observations' robust spread times
 * Scott's n^(-1/(d+4)), capped at Optuna 3.1's 0.2 (high - low) n^(-1/(d+4)). Scott's rule proper
 * is 1.06; the observations of a TPE group are not an i.i.d. sample but clustered where the search
 * has been, and twice that width explored better on the benchmark's problems (`npm run
 * bench:search`). The cap keeps the bad group's kernels as narrow as before: a group spread over
 * the whole range would otherwise get kernels so wide that g(x) is flat, and running trials (the
 * constant liar puts them in the bad group) would no longer push suggestions apart.
 */
const SCOTT_WIDTH = 2

/** Optuna's default_weights: equal weights, but for n > 25 the oldest n - 25 ramp up from 1/n. */
export function defaultWeights(n: number): number[] {
  if (n === 0) return []
  if (n < 25) return new Array<number>(n).fill(1)
  const rampLength = n - 25
  const ramp = Array.from({ length: rampLength }, (_, i) => (rampLength === 1 ? 1 / n : 1 / n + (i * (1 - 1 / n)) / (rampLength - 1)))
  return [...ramp, ...new Array<number>(25).fill(1)]
}

export class ParzenEstimator {
  private readonly weights: Float64Array
  private readonly logWeights: Float64Array
  private readonly kernels: readonly Kernels[]

  /** observations[i][j]: trial i's value of parameter j, oldest trial first. */
  constructor(observations: readonly (readonly number[])[], domains: readonly EstimatorDomain[], params: ParzenParameters) {
    if (!(params.priorWeight > 0)) throw new RangeError(`TPE prior weight must be above 0, got ${params.priorWeight}`)
    const n = observations.length
    const w = n === 0 ? [1] : [...defaultWeights(n), params.priorWeight]
    const total = w.reduce((s, x) => s + x, 0)
    this.weights = Float64Array.from(w, (x) => x / total)
    this.logWeights = this.weights.map(Math.log)
    this.kernels = domains.map((d, j) => {
      const column = observations.map((o) => o[j]!)
      return d.kind === 'choice' ? choiceKernels(column, d.values.length, params) : numericKernels(column, d, domains.length, params)
    })
  }

  /** `size` draws from the mixture, each a vector over the domains (choices as indices). */
  sample(rng: Rng, size: number): number[][] {
    const active = Array.from({ length: size }, () => pick(this.weights, rng.next()))
    const out = active.map(() => new Array<number>(this.kernels.length).fill(0))
    this.kernels.forEach((k, j) => {
      for (let i = 0; i < size; i++) {
        const a = active[i]!
        if (k.kind === 'choice') {
          out[i]![j] = pick(k.probs[a]!, rng.next())
        } else {
          const mu = k.mus[a]!
          const sigma = k.sigmas[a]!
          const z = truncnormPpf(rng.next(), (k.low - mu) / sigma, (k.high - mu) / sigma)
          const x = z * sigma + mu
          out[i]![j] = snapToStep(k.domain, k.domain.log ? Math.exp(x) : x)
        }
      }
    })
    return out
  }

  /** log density (probability, for discrete parameters) of each sample under the mixture. */
  logPdf(samples: readonly (readonly number[])[]): number[] {
    const nk = this.weights.length
    const acc = new Float64Array(nk)
    return samples.map((s) => {
      acc.set(this.logWeights)
      for (let j = 0; j < this.kernels.length; j++) {
        const k = this.kernels[j]!
        const x = s[j]!
        if (k.kind === 'choice') {
          for (let c = 0; c < nk; c++) acc[c]! += Math.log(k.probs[c]![x]!)
          continue
        }
        const { log, step } = k.domain
        if (step === undefined) {
          const t = log ? Math.log(x) : x
          const outside = t < k.low || t > k.high
          for (let c = 0; c < nk; c++) {
            const z = (t - k.mus[c]!) / k.sigmas[c]!
            acc[c]! += outside ? -Infinity : -0.5 * z * z - k.logNorm[c]!
          }
        } else {
          const left = log ? Math.log(x - step / 2) : x - step / 2
          const right = log ? Math.log(x + step / 2) : x + step / 2
          for (let c = 0; c < nk; c++) {
            const mu = k.mus[c]!
            const sigma = k.sigmas[c]!
            acc[c]! += logGaussMass((left - mu) / sigma, (right - mu) / sigma) - k.logMass[c]!
          }
        }
      }
      return logSumExp(acc)
    })
  }
}

function choiceKernels(observed: readonly number[], nChoices: number, params: ParzenParameters): ChoiceKernels {
  if (observed.length === 0) return { kind: 'choice', probs: [new Float64Array(nChoices).fill(1 / nChoices)] }
  const nKernels = observed.length + 1
  const probs = Array.from({ length: nKernels }, () => new Float64Array(nChoices).fill(params.priorWeight / nKernels))
  observed.forEach((c, i) => (probs[i]![c]! += 1))
  for (const row of probs) {
    const s = row.reduce((a, b) => a + b, 0)
    for (let c = 0; c < nChoices; c++) row[c]! /= s === 0 ? 1 : s
  }
  return { kind: 'choice', probs }
}

function numericKernels(observed: readonly number[], d: NumericDomain, nDims: number, params: ParzenParameters): NumericKernels {
  const half = d.step === undefined ? 0 : d.step / 2
  const low = d.log ? Math.log(d.low - half) : d.low - half
  const high = d.log ? Math.log(d.high + half) : d.high + half
  const mus = observed.map((x) => (d.log ? Math.log(x) : x))
  const n = mus.length
  const range = high - low
  let sigmas: number[]
  if (params.multivariate) {
    const spread = robustSpread(mus)
    const shrink = Math.max(n, 1) ** (-1 / (nDims + 4))
    const width = Math.min(spread > 0 ? SCOTT_WIDTH * spread * shrink : Infinity, 0.2 * shrink * range)
    sigmas = new Array<number>(n).fill(width)
  } else {
    sigmas = univariateBandwidths(mus, low, high, params.considerEndpoints)
  }
  const minSigma = params.considerMagicClip ? range / Math.min(100, 1 + (n + 1)) : EPS
  sigmas = sigmas.map((s) => Math.min(range, Math.max(minSigma, s)))
  mus.push(0.5 * (low + high))
  sigmas.push(range)
  const logMass = Float64Array.from(mus, (mu, i) => logGaussMass((low - mu) / sigmas[i]!, (high - mu) / sigmas[i]!))
  const logNorm = logMass.map((m, i) => LOG_SQRT_2PI + m + Math.log(sigmas[i]!))
  return { kind: 'numeric', domain: d, mus: Float64Array.from(mus), sigmas: Float64Array.from(sigmas), low, high, logMass, logNorm }
}

/** Each observation's bandwidth: its larger gap to a neighbour, among the observations and the prior mean. */
function univariateBandwidths(mus: readonly number[], low: number, high: number, considerEndpoints: boolean): number[] {
  const withPrior = [...mus, 0.5 * (low + high)]
  const order = withPrior.map((_, i) => i).sort((i, j) => withPrior[i]! - withPrior[j]! || i - j)
  const sorted = [low, ...order.map((i) => withPrior[i]!), high]
  const bySorted = order.map((_, r) => Math.max(sorted[r + 1]! - sorted[r]!, sorted[r + 2]! - sorted[r + 1]!))
  if (!considerEndpoints && sorted.length >= 4) {
    bySorted[0] = sorted[2]! - sorted[1]!
    bySorted[bySorted.length - 1] = sorted[sorted.length - 2]! - sorted[sorted.length - 3]!
  }
  const sigmas = new Array<number>(withPrior.length)
  order.forEach((i, r) => (sigmas[i] = bySorted[r]!))
  return sigmas.slice(0, mus.length)
}

/** min(standard deviation, interquartile range / 1.34): Scott's robust spread of a sample; 0 for fewer than 2. */
function robustSpread(xs: readonly number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mean = xs.reduce((a, b) => a + b, 0) / n
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1))
  const sorted = [...xs].sort((a, b) => a - b)
  const q = (p: number) => {
    const h = (n - 1) * p
    const i = Math.floor(h)
    return sorted[i]! + (h - i) * ((sorted[Math.min(i + 1, n - 1)] ?? sorted[i]!) - sorted[i]!)
  }
  const iqr = q(0.75) - q(0.25)
  return iqr > 0 ? Math.min(sd, iqr / 1.34) : sd
}

/** Index drawn from `probs` (summing to 1) with the uniform `u`: the first whose cumulative sum passes u. */
function pick(probs: ArrayLike<number>, u: number): number {
  let cum = 0
  for (let i = 0; i < probs.length - 1; i++) {
    cum += probs[i]!
    if (cum > u) return i
  }
  return probs.length - 1
}

function logSumExp(xs: Float64Array): number {
  let m = -Infinity
  for (const x of xs) if (x > m) m = x
  if (m === -Infinity) return -Infinity
  let s = 0
  for (const x of xs) s += Math.exp(x - m)
  return m + Math.log(s)
}
