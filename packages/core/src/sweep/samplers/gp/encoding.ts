// How the Gaussian process sees a search space, as Optuna's GPSampler (optuna/_gp/search_space.py):
// every parameter that varies becomes one coordinate. A real or whole number is normalised to
// [0, 1] (on log(x) for a log scale; a stepped one, integers included, over [low - q/2, high + q/2]
// so that every grid point owns an equal share), and a stepped one keeps to its grid points. A
// choice (a categorical or a `together` bundle) is its index, compared by equality (the kernel's
// Hamming distance), so no order is invented between, say, `[q_lin, v_lin]` and `all-linear`.
import type { Assignment, SearchSpace } from '../../model.ts'
import { numericContains, resolveDomain, snapToStep, type ChoiceDomain, type NumericDomain } from '../domain.ts'

export type Coordinate =
  | { readonly kind: 'continuous'; readonly name: string; readonly domain: NumericDomain; readonly lo: number; readonly hi: number }
  | {
      readonly kind: 'stepped'
      readonly name: string
      readonly domain: NumericDomain
      readonly lo: number
      readonly hi: number
      /** Grid points: low + k step, k = 0 .. count - 1. */
      readonly count: number
    }
  | { readonly kind: 'categorical'; readonly name: string; readonly domain: ChoiceDomain; readonly count: number }

export interface Encoding {
  readonly coordinates: readonly Coordinate[]
  /** Parameters that never vary (a value, one choice): set in every assignment as they are. */
  readonly fixed: Readonly<Record<string, unknown>>
  readonly space: SearchSpace
}

export function encodingOf(space: SearchSpace): Encoding {
  const coordinates: Coordinate[] = []
  const fixed: Record<string, unknown> = {}
  for (const p of space) {
    const d = resolveDomain(p.name, p.domain)
    if (d.kind === 'fixed') fixed[p.name] = d.value
    else if (d.kind === 'choice') coordinates.push({ kind: 'categorical', name: p.name, domain: d, count: d.values.length })
    else {
      const half = d.step === undefined ? 0 : d.step / 2
      const t = (x: number) => (d.log ? Math.log(x) : x)
      const lo = t(d.low - half)
      const hi = t(d.high + half)
      if (d.step === undefined) coordinates.push({ kind: 'continuous', name: p.name, domain: d, lo, hi })
      else coordinates.push({ kind: 'stepped', name: p.name, domain: d, lo, hi, count: Math.round((d.high - d.low) / d.step) + 1 })
    }
  }
  return { coordinates, fixed, space }
}

/** The normalised coordinate of a numeric value. */
function normalise(c: Coordinate & { kind: 'continuous' | 'stepped' }, x: number): number {
  const t = c.domain.log ? Math.log(x) : x
  return (t - c.lo) / (c.hi - c.lo)
}

/** The normalised coordinate of grid point k of a stepped coordinate. */
export function gridPoint(c: Coordinate & { kind: 'stepped' }, k: number): number {
  return normalise(c, snapToStep(c.domain, c.domain.low + k * c.domain.step!))
}

/** The grid index nearest to a normalised coordinate. */
export function nearestGridIndex(c: Coordinate & { kind: 'stepped' }, u: number): number {
  const t = c.lo + u * (c.hi - c.lo)
  const x = c.domain.log ? Math.exp(t) : t
  return Math.min(c.count - 1, Math.max(0, Math.round((x - c.domain.low) / c.domain.step!)))
}

/** A trial's assignment as a point, or undefined when a value is not in the space (the space changed). */
export function encode(e: Encoding, a: Assignment): Float64Array | undefined {
  const x = new Float64Array(e.coordinates.length)
  for (let j = 0; j < e.coordinates.length; j++) {
    const c = e.coordinates[j]!
    const v = a[c.name]
    if (c.kind === 'categorical') {
      const i = c.domain.indexOf(v)
      if (i === undefined) return undefined
      x[j] = i
    } else {
      if (!numericContains(c.domain, v)) return undefined
      x[j] = normalise(c, v)
    }
  }
  return x
}

/** The assignment a point stands for, in the space's parameter order. */
export function decode(e: Encoding, x: Float64Array): Assignment {
  const values: Record<string, unknown> = { ...e.fixed }
  e.coordinates.forEach((c, j) => {
    const u = x[j]!
    if (c.kind === 'categorical') values[c.name] = c.domain.values[Math.round(u)]
    else if (c.kind === 'stepped') values[c.name] = snapToStep(c.domain, c.domain.low + nearestGridIndex(c, u) * c.domain.step!)
    else {
      const t = c.lo + Math.min(1, Math.max(0, u)) * (c.hi - c.lo)
      values[c.name] = snapToStep(c.domain, c.domain.log ? Math.exp(t) : t)
    }
  })
  return Object.fromEntries(e.space.map((p) => [p.name, values[p.name]]))
}

/**
 * A uniformly random point in the normalised space: stepped coordinates rounded to the nearest grid
 * point (so a log-scale integer is log-uniform, as Optuna samples), choices uniform.
 */
export function randomPoint(e: Encoding, next: () => number): Float64Array {
  const x = new Float64Array(e.coordinates.length)
  e.coordinates.forEach((c, j) => {
    if (c.kind === 'continuous') x[j] = next()
    else if (c.kind === 'stepped') x[j] = gridPoint(c, nearestGridIndex(c, next()))
    else x[j] = Math.min(c.count - 1, Math.floor(next() * c.count))
  })
  return x
}
