// `--set trainer.learning_rate=1e-4`: the value is read as YAML (so numbers, booleans, lists and
// null come through) and then typed by the schema at that path: where the schema wants a string,
// `--set model.revision=1234` stays the string "1234", and a path is taken from the current folder.
// Invalid values are reported by validation, pointing at the --set argument.
import { parse as parseYamlValue } from 'yaml'
import type { Diagnostic, Location } from '../diagnostics.ts'
import { pathToPointer } from '../diagnostics.ts'
import { isAbsolute, resolve } from 'node:path'
import { PATH, type JSONSchema } from '../schema/json-schema.ts'
import { isPlainObject, reservedKey, reservedKeyHint, type Sourced, type SourceMap } from './document.ts'
import { deepMerge } from './merge.ts'

export interface Override {
  readonly arg: string
  readonly path: string[]
  readonly raw: string
}

export function parseOverride(arg: string): Override | Diagnostic {
  const eq = arg.indexOf('=')
  const place: Location = { file: `--set ${arg}`, line: 0, column: 0 }
  if (eq <= 0) return { location: place, message: 'expected `--set key.path=value`', hint: 'e.g. `--set trainer.learning_rate=1e-4`' }
  const key = arg.slice(0, eq).trim()
  const path = key.split('.')
  if (path.some((s) => s === '')) return { location: place, message: `\`${key}\` is not a valid key path`, hint: 'separate keys with single dots: `trainer.learning_rate`' }
  const reserved = path.find(reservedKey)
  if (reserved !== undefined) return { location: place, message: `unknown key \`${reserved}\``, hint: reservedKeyHint }
  return { arg, path, raw: arg.slice(eq + 1) }
}

export type Resolver = (segments: string[]) => JSONSchema | undefined

/** Applies overrides in order; each becomes a one-value document merged over the pipeline. */
export function applyOverrides(doc: Sourced, overrides: readonly Override[], schemaAt: Resolver): { doc: Sourced; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = []
  let cur = doc
  for (const o of overrides) {
    let value: unknown
    try {
      value = o.raw === '' ? '' : parseYamlValue(o.raw)
    } catch {
      value = o.raw
    }
    const r = setValue(cur, o.path, value, { file: `--set ${o.arg}`, line: 0, column: 0 }, schemaAt, o.raw)
    if ('doc' in r) cur = r.doc
    else diagnostics.push(r)
  }
  return { doc: cur, diagnostics }
}

/**
 * `value` set at `path` of a document, typed by the schema there (`text`: how it was written),
 * its source map pointing every level at `place`; a map merges into one that is there (set null
 * first to replace it). What `--set` does with each argument, and a sweep with each of a trial's values.
 */
export function setValue(doc: Sourced, path: readonly string[], value: unknown, place: Location, schemaAt: Resolver, text = String(value), cwd = process.cwd()): { doc: Sourced } | Diagnostic {
  const reserved = reservedKeyIn(value)
  if (reserved !== undefined) return { location: place, message: `unknown key \`${reserved}\``, hint: reservedKeyHint }
  const typed = coerce(value, text, schemaAt([...path]), cwd)
  // Build {a: {b: value}} with its source map pointing every level at the place.
  let nested: unknown = typed
  for (let i = path.length - 1; i >= 0; i--) nested = { [path[i]!]: nested }
  // No entry for the root: the document stays the pipeline file's.
  const map: SourceMap = new Map()
  path.forEach((_, i) => map.set(pathToPointer(path.slice(0, i + 1)), { key: place, value: place }))
  addDescendants(typed, pathToPointer([...path]), map, place)
  return { doc: deepMerge(isPlainObject(doc.value) ? doc : { value: {}, map: doc.map }, { value: nested, map }) }
}

function reservedKeyIn(v: unknown): string | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      const r = reservedKeyIn(x)
      if (r !== undefined) return r
    }
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const r = reservedKey(k) ? k : reservedKeyIn(x)
      if (r !== undefined) return r
    }
  }
  return undefined
}

function addDescendants(v: unknown, ptr: string, map: SourceMap, place: Location) {
  if (Array.isArray(v)) v.forEach((x, i) => (map.set(`${ptr}/${i}`, { value: place }), addDescendants(x, `${ptr}/${i}`, map, place)))
  else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) (map.set(`${ptr}/${k}`, { key: place, value: place }), addDescendants(x, `${ptr}/${k}`, map, place))
}

function types(schema: JSONSchema | undefined): string[] {
  if (!schema) return []
  const t = schema.type
  if (Array.isArray(t)) return t.map(String)
  if (typeof t === 'string') return [t]
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map((e) => (e === null ? 'null' : typeof e)))]
  return []
}

function coerce(value: unknown, raw: string, schema: JSONSchema | undefined, cwd: string): unknown {
  if (schema?.[PATH] === true && typeof value === 'string' && value !== '' && !isAbsolute(value)) return resolve(cwd, value)
  const ts = types(schema)
  if (ts.length === 0) return value
  const is = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value
  if (ts.includes(is) || (is === 'number' && ts.includes('integer') && Number.isInteger(value))) return value
  if (ts.includes('string') && (is === 'number' || is === 'boolean')) return raw.trim()
  // A single name where a list is allowed: `--set lora.target_modules=q_lin,v_lin`.
  if (ts.includes('array') && is === 'string' && typeof value === 'string' && value.includes(',')) return value.split(',').map((s) => s.trim())
  return value
}
