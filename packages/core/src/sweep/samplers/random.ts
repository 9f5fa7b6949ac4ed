// Random search, seeded: each draw comes from a generator seeded by (seed, number of trials so far),
// so a resumed sweep with the same history draws the same trial. A configuration some trial already
// has is drawn again, up to `retries` times; a finite space of at most FINITE_ENUMERATION points
// then takes one of its unused points at random, so it repeats only once every point is taken.
// Numbers are drawn as Optuna's RandomSampler does: uniform on [low, high] (on log(low), log(high)
// for a log scale), widened by q/2 at each end and rounded onto the grid when quantised.
import { Rng, deriveSeed } from '../../random/rng.ts'
import type { Assignment, Sampler, SearchSpace, TrialView } from '../model.ts'
import { configurationKey } from './configuration.ts'
import { resolveDomain, snapToStep, type NumericDomain, type ResolvedDomain } from './domain.ts'

export const RANDOM_RETRIES = 100

export function randomSampler(seed: number, retries = RANDOM_RETRIES): Sampler {
  return {
    name: 'random',
    next(space: SearchSpace, history: readonly TrialView[]): Assignment {
      return drawUnused(space, history, new Rng(deriveSeed(seed, history.length)), retries)
    },
  }
}

/** A random point no trial has, if one turns up within `retries` redraws; else the last draw. */
export function drawUnused(space: SearchSpace, history: readonly TrialView[], rng: Rng, retries = RANDOM_RETRIES): Assignment {
  const domains = space.map((p) => resolveDomain(p.name, p.domain))
  const taken = new Set(history.map((t) => configurationKey(space, t.assignment)))
  let point = drawPoint(space, domains, rng)
  for (let i = 0; i < retries && taken.has(configurationKey(space, point)); i++) point = drawPoint(space, domains, rng)
  if (!taken.has(configurationKey(space, point))) return point
  const unused = unusedPoints(space, domains, taken)
  return unused.length > 0 ? unused[rng.nextInt(unused.length)]! : point
}

/** Past this many points a space is not listed (its unused points are left to random redraws). */
export const FINITE_ENUMERATION = 100_000

/** Every point of a finite space that no trial holds; empty when the space is infinite or too large. */
function unusedPoints(space: SearchSpace, domains: readonly ResolvedDomain[], taken: ReadonlySet<string>): Assignment[] {
  const axes = domains.map(axisValues)
  if (axes.some((a) => a === undefined) || axes.reduce((n, a) => n * a!.length, 1) > FINITE_ENUMERATION) return []
  const out: Assignment[] = []
  const digits = axes.map(() => 0)
  for (;;) {
    const point: Record<string, unknown> = {}
    space.forEach((p, i) => (point[p.name] = axes[i]![digits[i]!]))
    if (!taken.has(configurationKey(space, point))) out.push(point)
    let i = axes.length - 1
    while (i >= 0 && ++digits[i]! === axes[i]!.length) digits[i--] = 0
    if (i < 0) return out
  }
}

/** The values of a finite domain (a choice, a fixed value, a stepped range), or undefined. */
function axisValues(d: ResolvedDomain): readonly unknown[] | undefined {
  if (d.kind === 'fixed') return [d.value]
  if (d.kind === 'choice') return d.values
  if (d.step === undefined) return undefined
  const n = Math.round((d.high - d.low) / d.step) + 1
  if (n > FINITE_ENUMERATION) return undefined
  return Array.from({ length: n }, (_, k) => snapToStep(d, d.low + k * d.step!))
}

function drawPoint(space: SearchSpace, domains: readonly ResolvedDomain[], rng: Rng): Assignment {
  const point: Record<string, unknown> = {}
  space.forEach((p, i) => (point[p.name] = drawValue(domains[i]!, rng)))
  return point
}

export function drawValue(d: ResolvedDomain, rng: Rng): unknown {
  switch (d.kind) {
    case 'fixed':
      return d.value
    case 'choice':
      return d.values[rng.nextInt(d.values.length)]
    case 'numeric':
      return drawNumber(d, rng)
  }
}

export function drawNumber(d: NumericDomain, rng: Rng): number {
  const half = d.step === undefined ? 0 : d.step / 2
  const lo = d.log ? Math.log(d.low - half) : d.low - half
  const hi = d.log ? Math.log(d.high + half) : d.high + half
  const x = lo + rng.next() * (hi - lo)
  return snapToStep(d, d.log ? Math.exp(x) : x)
}
