// When two values, or two trials' assignments, are the same configuration. Values may be lists and
// objects (`lora.target_modules: [q_lin, v_lin]`), so equality is by content, with object keys in
// any order; grid and random search use it to never repeat a configuration.
import type { Assignment, SearchSpace } from '../model.ts'

/** A string equal for equal contents: JSON with object keys sorted, -0 as 0. */
export function canonicalKey(value: unknown): string {
  return JSON.stringify(normalise(value)) ?? 'undefined'
}

function normalise(value: unknown): unknown {
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : Number.isFinite(value) ? value : String(value)
  if (Array.isArray(value)) return value.map(normalise)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(value).sort()) out[k] = normalise((value as Record<string, unknown>)[k])
    return out
  }
  return value
}

/**
 * The configuration an assignment stands for, over the space's parameters in order. A `together`
 * parameter counts by its bundle's contents, so two identical bundles are one configuration.
 */
export function configurationKey(space: SearchSpace, assignment: Assignment): string {
  return canonicalKey(
    space.map((p) => {
      const v = assignment[p.name]
      if (p.domain.kind === 'together' && typeof v === 'number') return p.domain.bundles[v] ?? v
      return v
    }),
  )
}
