// Runs ajv (JSON Schema 2020-12, all errors) and turns its errors into diagnostics that name the
// place in the file, say what is wrong in words, and suggest the closest valid key or value.
import Ajv2020Import, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import type { Diagnostic } from '../diagnostics.ts'
import { pointerToPath } from '../diagnostics.ts'
import { placeOf, type SourceMap } from '../source/document.ts'
import { didYouMean } from '../suggest.ts'
import { knownNameHint } from './foreign-names.ts'
import { ajvOptions, precompiledValidator } from './precompiled.ts'
import { PATTERN_WORDS, type Decoded, type JSONSchema, type SchemaLiteral, type Written } from './json-schema.ts'

// ajv ships CommonJS with a default export; under NodeNext the class sits on `.default`.
const Ajv2020: typeof Ajv2020Import.default = (Ajv2020Import as any).default ?? Ajv2020Import

const cache = new WeakMap<object, ValidateFunction>()

function compile(schema: JSONSchema, useDefaults: boolean): ValidateFunction {
  const hit = cache.get(schema)
  if (hit) return hit
  const fn = precompiledValidator(schema, useDefaults) ?? new Ajv2020(ajvOptions(useDefaults)).compile(schema)
  cache.set(schema, fn)
  return fn
}

const withDefaultsCache = new WeakMap<object, ValidateFunction>()

/**
 * A copy of `value` with the schema's defaults filled in where it has none, as loading a pipeline
 * fills a stage's parameters (the same ajv `useDefaults`, from the same `default` keywords). For
 * values that do not come through the loader: an adapter_config.json, command-line options, tests.
 * (S is unconstrained: inferring it against json-schema-to-ts's JSONSchema type explodes.)
 */
export function withDefaults<S>(schema: S, value: S extends SchemaLiteral ? Written<S> : never): S extends SchemaLiteral ? Decoded<S> : never
export function withDefaults(schema: JSONSchema, value: unknown): unknown {
  let fn = withDefaultsCache.get(schema)
  if (!fn) withDefaultsCache.set(schema, (fn = precompiledValidator(schema, true) ?? new Ajv2020(ajvOptions(true)).compile(schema)))
  const copy = structuredClone(value)
  fn(copy)
  return copy
}

export interface ValidateOptions {
  /** Fill in schema defaults (mutates `data`). */
  readonly useDefaults?: boolean
  /** Prefix for pointers in messages, e.g. `/stages/lora/with` when validating a stage's params. */
  readonly pointerPrefix?: string
}

export function validateAgainst(schema: JSONSchema, data: unknown, map: SourceMap, opts: ValidateOptions = {}): Diagnostic[] {
  const prefix = opts.pointerPrefix ?? ''
  // JSON Schema has no infinity or NaN (JSON cannot write them), so ajv lets `.inf` and `1e400`
  // through `type: number` and `minimum`; no lorapipe field means either.
  const nonFinite = nonFiniteNumbers(data, map, prefix)
  const fn = compile(schema, opts.useDefaults ?? false)
  if (fn(data)) return nonFinite
  const bad = new Set(nonFinite.map((d) => d.pointer))
  return [...nonFinite, ...toDiagnostics(fn.errors ?? [], map, prefix).filter((d) => !bad.has(d.pointer))]
}

/** A diagnostic for every number in `data` that is infinite or NaN. */
function nonFiniteNumbers(data: unknown, map: SourceMap, prefix: string): Diagnostic[] {
  const out: Diagnostic[] = []
  const visit = (v: unknown, ptr: string) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      out.push({
        location: placeOf(map, ptr)?.value,
        pointer: prefix + ptr,
        message: `\`${pointerToPath(prefix + ptr)}\` must be a finite number, not ${Number.isNaN(v) ? 'NaN' : v > 0 ? 'infinity' : '-infinity'}`,
        hint: Number.isNaN(v) ? undefined : 'YAML reads `.inf` and numbers beyond ±1.8e308 (such as 1e400) as infinity',
      })
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${ptr}/${i}`))
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) visit(x, `${ptr}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)
  }
  visit(data, '')
  return out
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a map'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  return `${typeof v} ${String(v)}`
}

function typeWords(t: unknown): string {
  const names: Record<string, string> = { object: 'a map', array: 'a list', string: 'a string', number: 'a number', integer: 'an integer', boolean: 'true or false', null: 'null' }
  const ts = Array.isArray(t) ? t : [t]
  return ts.map((x) => names[String(x)] ?? String(x)).join(' or ')
}

function toDiagnostics(errors: ErrorObject[], map: SourceMap, prefix: string): Diagnostic[] {
  const out: Diagnostic[] = []
  const seen = new Set<string>()
  // A value of the wrong type also fails its other keywords; its type error says it all.
  const typeFailed = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath))
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'allOf') continue
    if (e.keyword !== 'type' && typeFailed.has(e.instancePath)) continue
    const d = toDiagnostic(e, map, prefix)
    const key = `${d.pointer}|${d.message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push(d)
  }
  return out
}

function toDiagnostic(e: ErrorObject, map: SourceMap, prefix: string): Diagnostic {
  const pointer = prefix + e.instancePath
  const here = placeOf(map, e.instancePath)
  const field = pointerToPath(pointer)
  const p = e.params as Record<string, any>
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty)
      const child = `${e.instancePath}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
      const place = map.get(child)
      const known = Object.keys((e.parentSchema as any)?.properties ?? {})
      return {
        location: place?.key ?? place?.value ?? here?.value,
        pointer: prefix + child,
        message: `unknown key \`${key}\`${e.instancePath || prefix ? ` in \`${field}\`` : ''}`,
        // Another tool's name, or lorapipe's key in another section, before any spelling guess.
        hint: knownNameHint(key, prefix + e.instancePath, known) ?? didYouMean(key, known) ?? (known.length ? `valid keys: ${known.join(', ')}` : undefined),
      }
    }
    case 'required': {
      const key = String(p.missingProperty)
      return {
        location: here?.key ?? here?.value,
        pointer,
        message: `missing required key \`${key}\`${e.instancePath || prefix ? ` in \`${field}\`` : ''}`,
        hint: key === 'lora' ? 'give a LoRA config, or `lora: null` for full fine-tuning' : undefined,
      }
    }
    case 'type':
      return { location: here?.value, pointer, message: `\`${field}\` must be ${typeWords(p.type)}, not ${describe(e.data)}` }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String)
      return {
        location: here?.value,
        pointer,
        message: `\`${field}\` must be one of ${allowed.map((a) => `\`${a}\``).join(', ')}, not ${describe(e.data)}`,
        hint: typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined,
      }
    }
    case 'const':
      return { location: here?.value, pointer, message: `\`${field}\` must be ${JSON.stringify(p.allowedValue)}` }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const op = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[e.keyword]
      return { location: here?.value, pointer, message: `\`${field}\` must be ${op} ${p.limit}, not ${String(e.data)}` }
    }
    case 'minItems':
      return { location: here?.value, pointer, message: `\`${field}\` must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}` }
    case 'minProperties':
      return { location: here?.value, pointer, message: `\`${field}\` must have at least ${p.limit} entr${p.limit === 1 ? 'y' : 'ies'}` }
    case 'minLength':
      return { location: here?.value, pointer, message: `\`${field}\` must not be empty` }
    case 'pattern': {
      const words = (e.parentSchema as Record<string, unknown> | undefined)?.[PATTERN_WORDS]
      return typeof words === 'string'
        ? { location: here?.value, pointer, message: `\`${field}\` must be ${words}; not ${describe(e.data)}` }
        : { location: here?.value, pointer, message: `\`${field}\` is not valid: ${describe(e.data)} does not match ${p.pattern}` }
    }
    case 'propertyNames': {
      const name = String(p.propertyName)
      const place = map.get(`${e.instancePath}/${name}`)
      return { location: place?.key ?? here?.value, pointer: `${pointer}/${name}`, message: `\`${name}\` is not a valid name in \`${field}\` (letters, digits, _ and -, starting with a letter or _)` }
    }
    default:
      return { location: here?.value, pointer, message: `\`${field}\` ${e.message ?? 'is invalid'}` }
  }
}
