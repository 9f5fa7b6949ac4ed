// `${vars.x}` and `${env.NAME}` (with `${env.NAME:-default}`) are resolved when the pipeline is
// loaded; `${stages.<id>.outputs.<name>}` is left for the executor, which knows stage outputs.
// An unresolvable reference is reported and left as written, so it causes no second error.
// A string that is exactly one reference takes the referenced value's type (a number stays a
// number); a reference inside a longer string is spliced in as text. `$${` writes a literal `${`.
import type { Diagnostic } from '../diagnostics.ts'
import { didYouMean } from '../suggest.ts'
import { isPlainObject, placeOf, type Sourced } from './document.ts'
import { escapeKey } from './merge.ts'

const REF = /\$\$\{|\$\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*(?::-([^}]*))?\}/g
const WHOLE = /^\$\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*(?::-([^}]*))?\}$/

export interface Scope {
  readonly vars: Record<string, unknown>
  readonly env: Record<string, string | undefined>
}

export function interpolate(doc: Sourced, env: Record<string, string | undefined>): { doc: Sourced; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = []
  const root = isPlainObject(doc.value) ? doc.value : {}
  // Vars may use env (and earlier vars are not visible to keep evaluation order obvious).
  const rawVars = isPlainObject(root.vars) ? root.vars : {}
  const vars = walk(rawVars, '/vars', { vars: {}, env }, doc, diagnostics, false) as Record<string, unknown>
  const scope: Scope = { vars, env }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(root)) out[k] = k === 'vars' ? vars : walk(v, `/${escapeKey(k)}`, scope, doc, diagnostics, true)
  return { doc: { value: isPlainObject(doc.value) ? out : doc.value, map: doc.map }, diagnostics }
}

function walk(v: unknown, ptr: string, scope: Scope, doc: Sourced, ds: Diagnostic[], allowVars: boolean): unknown {
  if (typeof v === 'string') return resolveString(v, ptr, scope, doc, ds, allowVars)
  if (Array.isArray(v)) return v.map((x, i) => walk(x, `${ptr}/${i}`, scope, doc, ds, allowVars))
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) o[k] = walk(x, `${ptr}/${escapeKey(k)}`, scope, doc, ds, allowVars)
    return o
  }
  return v
}

function resolveString(s: string, ptr: string, scope: Scope, doc: Sourced, ds: Diagnostic[], allowVars: boolean): unknown {
  if (!s.includes('${')) return s
  const whole = WHOLE.exec(s)
  if (whole) {
    const r = lookup(whole[1]!, whole[2], ptr, scope, doc, ds, allowVars)
    return r.keep ? s : r.value
  }
  return s.replace(REF, (m, name: string | undefined, dflt: string | undefined) => {
    if (m === '$${') return '${'
    const r = lookup(name!, dflt, ptr, scope, doc, ds, allowVars)
    if (r.keep) return m
    return typeof r.value === 'string' ? r.value : JSON.stringify(r.value)
  })
}

function lookup(
  name: string,
  dflt: string | undefined,
  ptr: string,
  scope: Scope,
  doc: Sourced,
  ds: Diagnostic[],
  allowVars: boolean,
): { keep: boolean; value?: unknown } {
  const [ns, ...rest] = name.split('.')
  const loc = placeOf(doc.map, ptr)?.value
  if (ns === 'stages') return { keep: true }
  if (ns === 'env') {
    const key = rest.join('.')
    const val = scope.env[key]
    if (val !== undefined && val !== '') return { keep: false, value: val }
    if (dflt !== undefined) return { keep: false, value: dflt }
    ds.push({
      location: loc,
      pointer: ptr,
      message: `environment variable ${key} is not set (referenced as \`\${env.${key}}\`)`,
      hint: `set it, or give a default: \`\${env.${key}:-value}\``,
    })
    return { keep: true }
  }
  if (ns === 'vars') {
    if (!allowVars) {
      ds.push({ location: loc, pointer: ptr, message: '`vars` cannot refer to other vars', hint: 'write the value directly, or use `${env.NAME}`' })
      return { keep: true }
    }
    let cur: unknown = scope.vars
    for (const [i, seg] of rest.entries()) {
      if (isPlainObject(cur) && seg in cur) cur = cur[seg]
      else {
        if (dflt !== undefined) return { keep: false, value: dflt }
        const known = isPlainObject(cur) ? Object.keys(cur) : []
        const path = ['vars', ...rest.slice(0, i + 1)].join('.')
        ds.push({
          location: loc,
          pointer: ptr,
          message: `\`\${${name}}\` refers to \`${path}\`, which is not defined`,
          hint: didYouMean(seg, known) ?? (known.length ? `defined vars here: ${known.join(', ')}` : 'define it under `vars:`'),
        })
        return { keep: true }
      }
    }
    return { keep: false, value: cur }
  }
  ds.push({
    location: loc,
    pointer: ptr,
    message: `unknown reference \`\${${name}}\``,
    hint: 'references are `${vars.NAME}`, `${env.NAME}` or `${stages.ID.outputs.NAME}`',
  })
  return { keep: true }
}
