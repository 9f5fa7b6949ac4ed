// One `parameters:` entry of a sweep file -> its ParameterDomain, with W&B's rules: `value` is a
// constant, `values` a categorical, `distribution` with `min`/`max`/`q` a range, and `min`/`max`
// alone a range inferred from the bounds (whole numbers: int_uniform, else uniform). `together`
// (lorapipe's own) is a list of bundles of paths that change together. Bounds are checked here,
// each problem at the key or value that causes it.
import type { Diagnostic } from '../../diagnostics.ts'
import { placeOf, type SourceMap } from '../../source/document.ts'
import { escapeKey } from '../../source/merge.ts'
import type { ParameterDomain } from '../model.ts'
import type { Distribution } from './schema.ts'

export interface ParameterEntry {
  readonly name: string
  readonly domain: ParameterDomain
  /** Pipeline paths the parameter sets: its name, or the keys of its bundles. */
  readonly paths: readonly string[]
}

export type ParameterResult = { readonly ok: true; readonly entry: ParameterEntry } | { readonly ok: false; readonly diagnostics: Diagnostic[] }

export function parameterPointer(name: string): string {
  return `/parameters/${escapeKey(name)}`
}

const RANGE_DISTRIBUTIONS: readonly Distribution[] = ['uniform', 'int_uniform', 'q_uniform', 'log_uniform_values', 'q_log_uniform_values']

/** Reads one entry that already passed the schema (so the keys and their types are right). */
export function readParameter(name: string, raw: Record<string, unknown>, map: SourceMap): ParameterResult {
  const ptr = parameterPointer(name)
  const ds: Diagnostic[] = []
  const at = (key: string) => placeOf(map, `${ptr}/${key}`)
  const err = (key: string | undefined, message: string, hint?: string, onKey = false) => {
    const place = key === undefined ? placeOf(map, ptr) : at(key)
    ds.push({ location: onKey || key === undefined ? place?.key ?? place?.value : place?.value, pointer: key === undefined ? ptr : `${ptr}/${key}`, message, ...(hint ? { hint } : {}) })
  }
  const has = (k: string) => raw[k] !== undefined
  const fail = (): ParameterResult => ({ ok: false, diagnostics: ds })

  if (has('together')) {
    for (const k of Object.keys(raw)) if (k !== 'together') err(k, `\`${k}\` cannot be given with \`together\``, 'a `together` entry is only its list of bundles; give other parameters their own entries', true)
    const bundles = raw.together as Record<string, unknown>[]
    const keys = Object.keys(bundles[0] ?? {})
    bundles.forEach((b, i) => {
      const missing = keys.filter((k) => !(k in b))
      const extra = Object.keys(b).filter((k) => !keys.includes(k))
      if (missing.length > 0 || extra.length > 0) {
        err(`together/${i}`, `every bundle of \`${name}\` must set the same paths as the first (${keys.map((k) => `\`${k}\``).join(', ')}); this one ${[missing.length ? `lacks ${missing.map((k) => `\`${k}\``).join(', ')}` : '', extra.length ? `adds ${extra.map((k) => `\`${k}\``).join(', ')}` : ''].filter(Boolean).join(' and ')}`)
      }
    })
    if (ds.length > 0) return fail()
    return { ok: true, entry: { name, domain: { kind: 'together', bundles }, paths: keys } }
  }

  const dist = raw.distribution as Distribution | undefined
  const rangeKeys = ['min', 'max', 'q'].filter(has)

  if (has('value') || dist === 'constant') {
    for (const k of ['values', ...rangeKeys]) if (has(k)) err(k, `\`${k}\` cannot be given with \`value\` (a constant)`, 'drop one: `value` fixes the parameter in every trial', true)
    if (!has('value')) err('distribution', '`distribution: constant` needs `value`')
    return ds.length ? fail() : { ok: true, entry: { name, domain: { kind: 'constant', value: raw.value }, paths: [name] } }
  }

  if (has('values') || dist === 'categorical') {
    for (const k of rangeKeys) if (has(k)) err(k, `\`${k}\` cannot be given with \`values\``, 'a parameter is either a list of `values` or a range `min`/`max`', true)
    if (dist !== undefined && dist !== 'categorical') err('distribution', `\`distribution: ${dist}\` takes \`min\` and \`max\`, not \`values\``, 'use `distribution: categorical`, or leave `distribution` out, for a list of values')
    if (!has('values')) err('distribution', '`distribution: categorical` needs `values`')
    return ds.length ? fail() : { ok: true, entry: { name, domain: { kind: 'categorical', choices: raw.values as unknown[] }, paths: [name] } }
  }

  if (dist === undefined && !has('min') && !has('max')) {
    err(undefined, `parameter \`${name}\` says nothing to vary`, 'give `value`, `values: [...]`, `distribution` with `min`/`max`, or `together: [...]`', true)
    return fail()
  }
  for (const k of ['min', 'max'] as const) if (!has(k)) err(dist === undefined ? undefined : 'distribution', `\`${dist ?? 'a range'}\` needs \`${k}\``, undefined, dist === undefined)
  if (ds.length) return fail()
  const min = raw.min as number
  const max = raw.max as number
  const whole = Number.isInteger(min) && Number.isInteger(max)
  const d: Distribution = dist ?? (whole ? 'int_uniform' : 'uniform')
  if (!RANGE_DISTRIBUTIONS.includes(d)) return fail()
  const quantised = d === 'q_uniform' || d === 'q_log_uniform_values'
  const log = d === 'log_uniform_values' || d === 'q_log_uniform_values'
  if (has('q') && !quantised) err('q', `\`q\` applies to \`q_uniform\` and \`q_log_uniform_values\`, not \`${d}\``, `use \`distribution: ${log ? 'q_log_uniform_values' : 'q_uniform'}\` for steps of q`, true)
  const q = quantised ? ((raw.q as number | undefined) ?? 1) : undefined
  if (d === 'int_uniform') for (const k of ['min', 'max'] as const) if (!Number.isInteger(raw[k])) err(k, `\`int_uniform\` needs whole-number bounds, not ${raw[k]}`, 'use `uniform` for real numbers')
  if (!(min < max)) err('min', `\`min\` (${min}) must be less than \`max\` (${max})`, min === max ? 'for a fixed value use `value:`' : 'swap them')
  if (log && min <= 0) err('min', `\`${d}\` needs \`min\` > 0, not ${min}`, 'a log scale starts above zero, e.g. `min: 1.0e-5`')
  if (q !== undefined && !(q > 0)) err('q', `\`q\` must be > 0, not ${q}`)
  else if (q !== undefined && min < max && q > max - min) err('q', `\`q\` (${q}) is larger than \`max\` - \`min\` (${max - min}), which leaves a single value`, 'a smaller step, or `value:` for a fixed value')
  if (ds.length) return fail()
  const integral = d === 'int_uniform' || (quantised && whole && Number.isInteger(q))
  const domain: ParameterDomain = integral
    ? { kind: 'int', low: min, high: max, log, ...(q !== undefined && q !== 1 ? { q } : {}) }
    : { kind: 'float', low: min, high: max, log, ...(q !== undefined ? { q } : {}) }
  return { ok: true, entry: { name, domain, paths: [name] } }
}
