// An axis for values of any kind a sweep parameter takes: numbers (linear, or logarithmic when
// the parameter is drawn on a log scale (`log_uniform_values`), or when they are positive and span
// two decades or more, as learning rates do) or categories (strings,
// lists, objects: evenly spaced in order of first appearance). Positions are fractions in [0, 1].
import { niceTicks, tickLabel } from './svg-chart.ts'

export interface Tick {
  readonly at: number
  readonly label: string
}

export interface ValueAxis {
  readonly kind: 'linear' | 'log' | 'category'
  /** Position of a value in [0, 1], or undefined for a value the axis does not hold. */
  readonly pos: (v: unknown) => number | undefined
  readonly ticks: readonly Tick[]
}

/** A category's label: strings as they are, other values as compact JSON. */
export function categoryLabel(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** `log`: the parameter is drawn on a log scale (its distribution says so), whatever span its values have. */
export function valueAxis(values: readonly unknown[], opts: { readonly log?: boolean } = {}): ValueAxis {
  const present = values.filter((v) => v !== undefined)
  const numeric = present.length > 0 && present.every((v) => typeof v === 'number' && Number.isFinite(v))
  if (!numeric) {
    const cats = [...new Set(present.map(categoryLabel))]
    const at = (i: number) => (cats.length === 1 ? 0.5 : i / (cats.length - 1))
    return {
      kind: 'category',
      pos: (v) => {
        const i = cats.indexOf(categoryLabel(v))
        return i < 0 ? undefined : at(i)
      },
      ticks: cats.map((c, i) => ({ at: at(i), label: c })),
    }
  }
  const xs = present as number[]
  const lo = Math.min(...xs)
  const hi = Math.max(...xs)
  if (lo > 0 && (hi / lo >= 100 || opts.log === true)) {
    const a = Math.floor(Math.log10(lo))
    const b = Math.ceil(Math.log10(hi))
    const span = Math.max(1, b - a)
    const ticks: Tick[] = []
    for (let k = a; k <= b; k++) ticks.push({ at: (k - a) / span, label: tickLabel(10 ** k) })
    return { kind: 'log', pos: (v) => (typeof v === 'number' && v > 0 ? (Math.log10(v) - a) / span : undefined), ticks }
  }
  const t = niceTicks(lo, hi, 4)
  const t0 = t[0]!
  const t1 = t.at(-1)!
  const k = t1 === t0 ? 0 : 1 / (t1 - t0)
  return { kind: 'linear', pos: (v) => (typeof v === 'number' && Number.isFinite(v) ? (v - t0) * k : undefined), ticks: t.map((x) => ({ at: (x - t0) * k, label: tickLabel(x) })) }
}
