// Maximising log expected improvement over the encoded space, as Optuna's optimize_acqf_mixed
// (optuna/_gp/optim_mixed.py): evaluate many random points, then improve the best of them and a
// few others (drawn with probability proportional to exp(acquisition), so that several basins are
// tried) by local search: L-BFGS on the continuous coordinates in units of their lengthscales
// (which equalises the curvature across coordinates), then each stepped coordinate by searching its
// grid, each choice by trying every value; repeated until no coordinate improves.
import type { Rng } from '../../../random/rng.ts'
import { gridPoint, nearestGridIndex, randomPoint, type Encoding } from './encoding.ts'
import { minimize } from './lbfgs.ts'
import { logEiWithGradient, logExpectedImprovement } from './log-ei.ts'
import type { GaussianProcess } from './regressor.ts'

export interface AcquisitionOptions {
  /** Random points evaluated first (Optuna: 2048). */
  readonly samples: number
  /** Local searches: from the best sample and from samples drawn by their acquisition (Optuna: 10). */
  readonly localSearches: number
}

export interface Scored {
  readonly x: Float64Array
  readonly value: number
}

/** The acquisition's value at x: log EI of the process over the incumbent f0. */
export function acquisition(gp: GaussianProcess, f0: number, x: Float64Array): number {
  const { mean, variance } = gp.posterior(x)
  return logExpectedImprovement(mean, variance, f0)
}

/**
 * Points by decreasing log EI: the local searches' results first, then the random samples.
 * `starts` are extra starting points (the best trial so far, as Optuna warm-starts from it).
 */
export function maximiseAcquisition(gp: GaussianProcess, f0: number, e: Encoding, rng: Rng, options: AcquisitionOptions, starts: readonly Float64Array[] = []): Scored[] {
  const samples: Scored[] = []
  for (let i = 0; i < options.samples; i++) {
    const x = randomPoint(e, () => rng.next())
    samples.push({ x, value: acquisition(gp, f0, x) })
  }
  samples.sort((a, b) => b.value - a.value)
  const chosen: Float64Array[] = [samples[0]!.x]
  // Roulette over the other samples by exp(value - best), without replacement.
  const weights = samples.map((s, i) => (i === 0 ? 0 : Math.exp(s.value - samples[0]!.value)))
  for (let k = 1; k < options.localSearches - starts.length; k++) {
    const total = weights.reduce((a, b) => a + b, 0)
    if (!(total > 0)) break
    let u = rng.next() * total
    let pick = weights.length - 1
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!
      if (u < 0) {
        pick = i
        break
      }
    }
    chosen.push(samples[pick]!.x)
    weights[pick] = 0
  }
  const improved = [...chosen, ...starts].map((x) => localSearch(gp, f0, e, x))
  return [...improved, ...samples].sort((a, b) => b.value - a.value)
}

function localSearch(gp: GaussianProcess, f0: number, e: Encoding, start: Float64Array): Scored {
  const continuous = e.coordinates.flatMap((c, j) => (c.kind === 'continuous' ? [j] : []))
  let x: Float64Array = Float64Array.from(start)
  let value = acquisition(gp, f0, x)
  const CONTINUOUS = -1
  let lastChanged: number | undefined
  for (let round = 0; round < 20; round++) {
    if (lastChanged === CONTINUOUS) break
    if (continuous.length > 0) {
      const r = gradientAscent(gp, f0, x, continuous)
      if (r.value > value + 1e-12) {
        x = r.x
        value = r.value
        lastChanged = CONTINUOUS
      }
    }
    let stop = false
    for (let j = 0; j < e.coordinates.length; j++) {
      const c = e.coordinates[j]!
      if (c.kind === 'continuous') continue
      if (lastChanged === j) {
        stop = true
        break
      }
      const r = c.kind === 'categorical' ? bestChoice(gp, f0, x, j, c.count) : bestGridPoint(gp, f0, x, j, c)
      if (r.value > value + 1e-12) {
        x = r.x
        value = r.value
        lastChanged = j
      }
    }
    if (stop || lastChanged === undefined) break
  }
  return { x, value }
}

/** L-BFGS on the continuous coordinates, in units of their lengthscales, within [0, 1]. */
function gradientAscent(gp: GaussianProcess, f0: number, start: Float64Array, continuous: readonly number[]): Scored {
  const scales = continuous.map((j) => 1 / Math.sqrt(gp.params.inverseSquaredLengthscales[j]!))
  const x = Float64Array.from(start)
  const dMean = new Float64Array(start.length)
  const dVariance = new Float64Array(start.length)
  const z0 = Float64Array.from(continuous, (j, k) => start[j]! / scales[k]!)
  const upper = Float64Array.from(scales, (s) => 1 / s)
  const result = minimize(
    (z, grad) => {
      continuous.forEach((j, k) => (x[j] = z[k]! * scales[k]!))
      const { mean, variance } = gp.posteriorWithGradient(x, continuous, dMean, dVariance)
      const ei = logEiWithGradient(mean, variance, f0)
      continuous.forEach((j, k) => (grad[k] = -(ei.dMean * dMean[j]! + ei.dVariance * dVariance[j]!) * scales[k]!))
      return -ei.value
    },
    z0,
    { lower: new Float64Array(continuous.length), upper, gtol: 1e-2, maxIterations: 200 },
  )
  const out = Float64Array.from(start)
  continuous.forEach((j, k) => (out[j] = Math.min(1, Math.max(0, result.x[k]! * scales[k]!))))
  return { x: out, value: acquisition(gp, f0, out) }
}

function bestChoice(gp: GaussianProcess, f0: number, x: Float64Array, j: number, count: number): Scored {
  let best: Scored = { x, value: -Infinity }
  for (let c = 0; c < count; c++) {
    const y = Float64Array.from(x)
    y[j] = c
    const value = acquisition(gp, f0, y)
    if (value > best.value) best = { x: y, value }
  }
  return best
}

/** The best grid point of a stepped coordinate: every one for up to 16, else a widening search around the current one. */
function bestGridPoint(gp: GaussianProcess, f0: number, x: Float64Array, j: number, c: Parameters<typeof gridPoint>[0]): Scored {
  const at = (k: number): Scored => {
    const y = Float64Array.from(x)
    y[j] = gridPoint(c, k)
    return { x: y, value: acquisition(gp, f0, y) }
  }
  if (c.count <= 16) {
    let best = at(0)
    for (let k = 1; k < c.count; k++) {
      const r = at(k)
      if (r.value > best.value) best = r
    }
    return best
  }
  let k = nearestGridIndex(c, x[j]!)
  let best = at(k)
  for (let moved = true; moved; ) {
    moved = false
    for (let step = 1; step < c.count; step *= 2) {
      for (const next of [k - step, k + step]) {
        if (next < 0 || next >= c.count) continue
        const r = at(next)
        if (r.value > best.value) {
          best = r
          k = next
          moved = true
        }
      }
    }
  }
  return best
}
