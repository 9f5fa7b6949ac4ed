// What a stage may hand back when it succeeds: nothing, or a plain object of outputs whose values
// are strings, numbers, booleans or null (StageOutputs), with every declared output present. The
// outputs go into stage.json and into later stages' parameters, so anything JSON cannot hold as
// such (an object, an array, NaN, a function, a class instance) is refused here, with what the
// stage returned (shortened, control characters escaped) and what was expected.
import { isEffect } from 'effect/Effect'
import { escapeControlLine } from '../text/control-chars.ts'
import type { StageOutputs } from './spec.ts'

/** The outputs, or the problem, said as what the stage did: `returned the number 42; ...`. */
export type CheckedOutputs = { readonly outputs: StageOutputs } | { readonly problem: string }

const LONGEST = 60

export function checkStageOutputs(value: unknown, declared: readonly string[]): CheckedOutputs {
  const expected = `a stage returns nothing or an object of outputs${declared.length > 0 ? ` (${declared.map((o) => `${o}: …`).join(', ')})` : ''} whose values are strings, numbers, booleans or null`
  if (value === undefined) {
    if (declared.length === 0) return { outputs: {} }
    return { problem: `returned nothing, but it declares the output${declared.length > 1 ? 's' : ''} ${declared.join(', ')}` }
  }
  if (!isPlainObject(value)) return { problem: `returned ${describeValue(value)}; ${expected}` }
  const bad = Object.entries(value).filter(([, v]) => !isOutputValue(v))
  if (bad.length > 0) {
    const shown = bad.slice(0, 3).map(([k, v]) => `\`${escapeControlLine(shorten(k))}\` is ${describeValue(v)}`)
    return { problem: `returned an object whose output ${shown.join(', output ')}${bad.length > 3 ? ` (and ${bad.length - 3} more)` : ''}; ${expected}` }
  }
  const missing = declared.filter((o) => !Object.hasOwn(value, o))
  if (missing.length > 0) return { problem: `returned no value for its declared output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` }
  return { outputs: value as StageOutputs }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function isOutputValue(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
}

/** `the number 42`, `the string "…"`, `an array ([1, 2])`, `an instance of Foo`: one line, short, no control characters. */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'undefined':
      return 'undefined'
    case 'string':
      return `the string ${escapeControlLine(shorten(JSON.stringify(v)))}`
    case 'number':
      return Number.isFinite(v) ? `the number ${v}` : `the number ${v} (JSON cannot hold it)`
    case 'bigint':
      return `the bigint ${shorten(String(v))}n`
    case 'boolean':
      return `the boolean ${v}`
    case 'symbol':
      return `a symbol (${escapeControlLine(shorten(String(v)))})`
    case 'function':
      return `a function${v.name ? ` (${escapeControlLine(shorten(v.name))})` : ''}`
  }
  if (v === null) return 'null'
  if (Array.isArray(v)) return `an array (${preview(v)})`
  if (isPlainObject(v)) return `an object (${preview(v)})`
  if (isEffect(v)) return 'an Effect (as a value, not run: yield* it, or return it from run itself)'
  if (typeof (v as { then?: unknown }).then === 'function') return 'a Promise (or another thenable) as a value, not awaited'
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name
  return name ? `an instance of ${escapeControlLine(shorten(name))}` : 'an object that is not a plain object'
}

/** A short JSON-ish rendering of an array or plain object. */
function preview(v: unknown): string {
  let text: string
  try {
    text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'function' ? '[function]' : x)) ?? String(v)
  } catch {
    text = Array.isArray(v) ? `${v.length} items` : 'circular'
  }
  return escapeControlLine(shorten(text))
}

function shorten(s: string): string {
  return s.length > LONGEST ? `${s.slice(0, LONGEST - 1)}…` : s
}
