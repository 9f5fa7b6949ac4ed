// Random search, seeded: each draw comes from a generator seeded by (seed, number of trials so far),
// so a resumed sweep with the same history draws the same trial. A configuration some trial already
// has is drawn again, up to `retries` times, before it is allowed (a small finite space runs out).
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
  return point
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
