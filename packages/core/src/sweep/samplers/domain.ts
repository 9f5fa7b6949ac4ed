// What each kind of parameter domain allows, normalised once for every sampler: the distinct
// choices of a list (a repeated value is one choice), numeric bounds snapped to the `q` grid as
// Optuna does (high becomes low + floor((high - low) / q) * q), and the checks that make a domain
// unusable, which the sweep file loader reports before any trial runs.
import type { ParameterDomain } from '../model.ts'
import { canonicalKey } from './configuration.ts'

export interface NumericDomain {
  readonly kind: 'numeric'
  readonly integer: boolean
  readonly low: number
  /** Snapped to the step grid when `step` is set. */
  readonly high: number
  readonly log: boolean
  /** The `q` grid (1 for integers without `q`), or undefined for a continuous real. */
  readonly step: number | undefined
}

/** A finite set of assignment values: a categorical's distinct choices, or distinct bundle indices. */
export interface ChoiceDomain {
  readonly kind: 'choice'
  readonly values: readonly unknown[]
  /** The index in `values` of an assignment value, by content; undefined when it is not one of them. */
  indexOf(value: unknown): number | undefined
}

export interface FixedDomain {
  readonly kind: 'fixed'
  readonly value: unknown
}

export type ResolvedDomain = NumericDomain | ChoiceDomain | FixedDomain

/** Why `domain` cannot be sampled (a sentence naming the fix), or undefined when it can. */
export function domainProblem(domain: ParameterDomain): string | undefined {
  switch (domain.kind) {
    case 'constant':
      return undefined
    case 'categorical':
      return domain.choices.length === 0 ? 'has no values to choose from; give at least one' : undefined
    case 'together':
      return domain.bundles.length === 0 ? 'has no bundles to choose from; give at least one' : undefined
    case 'float':
    case 'int': {
      const { low, high, log, q } = domain
      if (!Number.isFinite(low) || !Number.isFinite(high)) return `needs finite min and max, got min ${low}, max ${high}`
      if (low > high) return `has min ${low} above max ${high}; swap them`
      if (q !== undefined && !(Number.isFinite(q) && q > 0)) return `needs q > 0, got ${q}`
      if (domain.kind === 'int') {
        if (!Number.isInteger(low) || !Number.isInteger(high)) return `is a whole-number distribution but min ${low} or max ${high} is not whole`
        if (q !== undefined && !Number.isInteger(q)) return `is a whole-number distribution but q ${q} is not whole`
      }
      if (log) {
        if (low <= 0) return `is on a log scale, so min must be above 0, got ${low}`
        const step = q ?? (domain.kind === 'int' ? 1 : undefined)
        if (step !== undefined && low - step / 2 <= 0) return `is quantised on a log scale, so min must be above q/2 (${step / 2}), got ${low}`
      }
      return undefined
    }
  }
}

/** The normalised domain; throws RangeError on a domain with a problem (the loader reports those first). */
export function resolveDomain(name: string, domain: ParameterDomain): ResolvedDomain {
  const problem = domainProblem(domain)
  if (problem !== undefined) throw new RangeError(`parameter ${name} ${problem}`)
  switch (domain.kind) {
    case 'constant':
      return { kind: 'fixed', value: domain.value }
    case 'categorical':
      return choices(domain.choices, domain.choices)
    case 'together': {
      // The assignment holds a bundle index; identical bundles collapse onto the first one.
      const indices = domain.bundles.map((_, i) => i)
      return choices(indices, domain.bundles)
    }
    case 'float':
    case 'int': {
      const integer = domain.kind === 'int'
      const step = domain.q ?? (integer ? 1 : undefined)
      const high = step === undefined ? domain.high : tidy(domain.low + Math.floor((domain.high - domain.low) / step + 1e-9) * step, integer)
      if (domain.low === high) return { kind: 'fixed', value: domain.low }
      return { kind: 'numeric', integer, low: domain.low, high, log: domain.log, step }
    }
  }
}

/** `values[i]` is the assignment value; `contents[i]` what decides whether two are the same. */
function choices(values: readonly unknown[], contents: readonly unknown[]): ChoiceDomain | FixedDomain {
  const byKey = new Map<string, number>()
  const distinct: unknown[] = []
  const indexOfKey = new Map<string, number>()
  contents.forEach((c, i) => {
    const key = canonicalKey(c)
    if (!byKey.has(key)) {
      byKey.set(key, distinct.length)
      distinct.push(values[i])
    }
    indexOfKey.set(canonicalKey(values[i]), byKey.get(key)!)
  })
  if (distinct.length === 1) return { kind: 'fixed', value: distinct[0] }
  return { kind: 'choice', values: distinct, indexOf: (v) => indexOfKey.get(canonicalKey(v)) }
}

/** Rounds `x` onto the domain's step grid, within its bounds, as a clean decimal. */
export function snapToStep(d: NumericDomain, x: number): number {
  if (d.step === undefined) return Math.min(d.high, Math.max(d.low, x))
  const k = Math.round((x - d.low) / d.step)
  return Math.min(d.high, Math.max(d.low, tidy(d.low + k * d.step, d.integer)))
}

/** Whether an assignment value lies in the domain (history from a changed space may not). */
export function numericContains(d: NumericDomain, v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= d.low && v <= d.high
}

// low + k * q in binary floating point gives 0.30000000000000004; 15 significant digits hide that
// without moving the value off the grid by more than a rounding error.
function tidy(x: number, integer: boolean): number {
  return integer ? Math.round(x) : Number(x.toPrecision(15))
}
