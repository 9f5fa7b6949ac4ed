// Strict shape checks for what is read from Redis. Anyone who can write to the Redis behind a
// queue can put anything there, so job data, registry entries and run events are untrusted input:
// each is checked against its exact shape (types, whole numbers in range, finite numbers, bounded
// sizes, no keys beyond those it has) before anything uses it. A check that fails throws
// ShapeInvalid, which names the place (`trial`, `assignment.lr`) and what was expected there.
import * as Data from 'effect/Data'

export class ShapeInvalid extends Data.TaggedError('ShapeInvalid')<{
  /** Where in the value, as `key.key`; empty for the value itself. */
  readonly at: string
  readonly problem: string
}> {
  override get message(): string {
    return this.at ? `\`${this.at}\`: ${this.problem}` : this.problem
  }
}

/** Checks `v` (found at `at`) and returns it typed, or throws ShapeInvalid. */
export type Decoder<T> = (v: unknown, at: string) => T

/** Throws ShapeInvalid: for checks beyond the shape itself (a value that must agree with another). */
export const fail = (at: string, problem: string): never => {
  throw new ShapeInvalid({ at, problem })
}

const join = (at: string, key: string) => (at ? `${at}.${key}` : key)

/** A short description of a value for messages (never the whole of a long string). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `a list of ${v.length}`
  if (typeof v === 'string') return v.length > 60 ? `a string of ${v.length} characters` : JSON.stringify(v)
  if (typeof v === 'number') return String(v)
  if (typeof v === 'object') return 'an object'
  return typeof v
}

// C0 controls (tab and newline allowed only where text may span lines), DEL and C1 controls.
const CONTROL_IN_LINE = /[\u0000-\u001f\u007f-\u009f]/
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

/** A string of at most `max` characters: one line without control characters, or (`lines`) text. */
export function text(opts: { readonly max: number; readonly lines?: boolean; readonly pattern?: RegExp; readonly what?: string }): Decoder<string> {
  return (v, at) => {
    if (typeof v !== 'string') return fail(at, `expected ${opts.what ?? 'a string'}, got ${describeValue(v)}`)
    if (v.length > opts.max) return fail(at, `too long: ${v.length} characters (at most ${opts.max})`)
    if ((opts.lines ? CONTROL_IN_TEXT : CONTROL_IN_LINE).test(v)) return fail(at, 'holds control characters')
    if (opts.pattern && !opts.pattern.test(v)) return fail(at, `expected ${opts.what ?? `text matching ${opts.pattern}`}, got ${describeValue(v)}`)
    return v
  }
}

/** A whole number in [min, max]. */
export function whole(min: number, max: number): Decoder<number> {
  return (v, at) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : fail(at, `expected a whole number from ${min} to ${max}, got ${describeValue(v)}`))
}

/** A finite number, at least `min` when given. */
export function finite(min = -Infinity): Decoder<number> {
  return (v, at) => (typeof v === 'number' && Number.isFinite(v) && v >= min ? v : fail(at, `expected a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${describeValue(v)}`))
}

/**
 * A measured number: finite, or null, which is how JSON writes a NaN or an infinity (a loss that
 * diverged is reported, not dropped).
 */
export const measure: Decoder<number | null> = (v, at) => (v === null ? null : finite()(v, at))

export const flag: Decoder<boolean> = (v, at) => (typeof v === 'boolean' ? v : fail(at, `expected true or false, got ${describeValue(v)}`))

/** One of the given values (strings, numbers, booleans). */
export function oneOf<const T extends readonly (string | number | boolean)[]>(...values: T): Decoder<T[number]> {
  return (v, at) => (values.includes(v as T[number]) ? (v as T[number]) : fail(at, `expected ${values.map((x) => JSON.stringify(x)).join(' or ')}, got ${describeValue(v)}`))
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)

type Fields = Record<string, Decoder<unknown>>
type Out<F extends Fields> = { readonly [K in keyof F]: ReturnType<F[K]> }

/** An object with exactly these keys (those in `optional` may be absent), and no others. */
export function struct<R extends Fields, O extends Fields = Record<never, never>>(required: R, optional?: O): Decoder<Out<R> & Partial<Out<O>>> {
  const known = [...Object.keys(required), ...Object.keys(optional ?? {})]
  return (v, at) => {
    if (!isPlain(v)) return fail(at, `expected an object, got ${describeValue(v)}`)
    for (const k of Object.keys(v)) if (!known.includes(k)) fail(at, `unknown key \`${k.length > 60 ? `${k.slice(0, 60)}…` : k}\` (expected ${known.join(', ')})`)
    for (const [k, d] of Object.entries(required)) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) fail(at, `missing \`${k}\``)
      d(v[k], join(at, k))
    }
    for (const [k, d] of Object.entries(optional ?? {})) if (Object.prototype.hasOwnProperty.call(v, k) && v[k] !== undefined) d(v[k], join(at, k))
    return v as Out<R> & Partial<Out<O>>
  }
}

/** A list of at most `max` items, each checked by `item`. */
export function list<T>(item: Decoder<T>, max: number): Decoder<readonly T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) return fail(at, `expected a list, got ${describeValue(v)}`)
    if (v.length > max) return fail(at, `too many items: ${v.length} (at most ${max})`)
    v.forEach((x, i) => item(x, `${at}[${i}]`))
    return v as readonly T[]
  }
}

/** An object used as a map: at most `maxKeys` keys, each a line of at most `keyMax` characters, each value checked. */
export function dict<T>(value: Decoder<T>, opts: { readonly maxKeys: number; readonly keyMax: number }): Decoder<Readonly<Record<string, T>>> {
  const key = text({ max: opts.keyMax })
  return (v, at) => {
    if (!isPlain(v)) return fail(at, `expected an object, got ${describeValue(v)}`)
    const keys = Object.keys(v)
    if (keys.length > opts.maxKeys) return fail(at, `too many keys: ${keys.length} (at most ${opts.maxKeys})`)
    for (const k of keys) {
      key(k, at ? `${at} (a key)` : '(a key)')
      value(v[k], join(at, k))
    }
    return v as Readonly<Record<string, T>>
  }
}

/** Any JSON value nested at most `depth` deep, with finite numbers only. */
export function json(depth = 8): Decoder<unknown> {
  const check = (v: unknown, at: string, d: number): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
    if (typeof v === 'number') return finite()(v, at)
    if (d >= depth) return fail(at, `nested deeper than ${depth} levels`)
    if (Array.isArray(v)) return v.forEach((x, i) => check(x, `${at}[${i}]`, d + 1)), v
    if (isPlain(v)) return Object.entries(v).forEach(([k, x]) => check(x, join(at, k), d + 1)), v
    return fail(at, `expected a JSON value, got ${describeValue(v)}`)
  }
  return (v, at) => check(v, at, 0)
}

/** The value's JSON text is at most `maxBytes` bytes (checked before anything else looks at it). */
export function sized<T>(inner: Decoder<T>, maxBytes: number, what: string): Decoder<T> {
  return (v, at) => {
    let bytes: number
    try {
      bytes = Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8')
    } catch {
      return fail(at, `${what} is not JSON`)
    }
    if (bytes > maxBytes) return fail(at, `${what} is too large: ${bytes} bytes (at most ${maxBytes})`)
    return inner(v, at)
  }
}

/** `JSON.parse` of text read from Redis, then the decoder; undefined when either fails (what is ignored). */
export function parseOrUndefined<T>(textValue: unknown, decode: Decoder<T>, maxBytes: number): T | undefined {
  try {
    if (typeof textValue !== 'string' || textValue.length > maxBytes) return undefined
    return decode(JSON.parse(textValue), '')
  } catch {
    return undefined
  }
}

/** The decoded value, or undefined when it does not have the shape (what is ignored). */
export function decodeOrUndefined<T>(v: unknown, decode: Decoder<T>): T | undefined {
  try {
    return decode(v, '')
  } catch {
    return undefined
  }
}
