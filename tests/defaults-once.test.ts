// A pipeline section's defaults are declared once, as `default` keywords in its schema
// (packages/core/src/pipeline/sections/, and the built-in stages' own parameters in
// core/src/stage/builtins.ts), and applied once: when a pipeline is loaded, or by `withDefaults`.
// This reads the sources for the ways a default gets written a second time: `key ?? <default>`,
// `? x.key : <default>`, and a constant `DEFAULT_<KEY> = <default>`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { jobProperties, runtimeSchema, seedSchema } from '../packages/core/src/pipeline/sections/index.ts'
import { builtinSpecs } from '../packages/core/src/stage/builtins.ts'

const root = join(import.meta.dirname, '..')
type Schema = { readonly [k: string]: unknown }

/** Every declared default: [key, value], nested keys included (`revision` of model and dataset once). */
function declaredDefaults(): [string, unknown][] {
  const out: [string, unknown][] = [['seed', seedSchema.default]]
  const walk = (s: Schema) => {
    for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
      if (p.default !== undefined) out.push([k, p.default])
      walk(p)
    }
  }
  for (const s of [...Object.values(jobProperties), runtimeSchema] as Schema[]) walk(s)
  for (const spec of builtinSpecs) walk({ properties: Object.fromEntries(Object.entries((spec.params.properties ?? {}) as Record<string, Schema>).filter(([k]) => !(k in jobProperties))) })
  return [...new Map(out.map((d) => [JSON.stringify(d), d])).values()]
}

/** The ways a value is written in code: `'main'` or `"main"`, `5e-5` or `0.00005`. */
function literal(v: unknown): string {
  if (typeof v === 'string') return `(['"\`])${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\1`
  if (typeof v === 'number') return `(?:${[...new Set([String(v), v.toExponential(), v.toExponential().replace('e-', 'e-0')])].map((s) => s.replace(/[.+]/g, '\\$&')).join('|')})`
  return String(v)
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : []))
}

// Where the declarations themselves live, and the hub client, which mirrors huggingface_hub's own
// constants (its DEFAULT_REVISION = 'main' is that library's, for calls that name no revision).
const declarations = ['packages/core/src/pipeline/sections/', 'packages/core/src/stage/builtins.ts', 'packages/runner/src/hub/']

test('no default of a pipeline section or built-in stage is written again in the sources', () => {
  const files = ['core', 'runner', 'queue', 'cli'].flatMap((p) => sources(join(root, 'packages', p, 'src'))).filter((f) => !declarations.some((d) => relative(root, f).startsWith(d)))
  const found: string[] = []
  for (const [key, value] of declaredDefaults()) {
    const v = literal(value)
    const again = [
      new RegExp(`\\b${key}\\s*\\?\\?\\s*${v}(?![\\w.])`),
      new RegExp(`\\?\\s*[\\w.?]*\\b${key}\\s*:\\s*${v}(?![\\w.])`),
      new RegExp(`\\bDEFAULT_${key}\\s*=\\s*${v}(?![\\w.])`, 'i'),
    ]
    for (const f of files) {
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        const code = line.trimStart()
        if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return
        if (again.some((re) => re.test(code))) found.push(`${relative(root, f)}:${i + 1}: \`${key}\` defaults to ${JSON.stringify(value)} again: ${code.trim()}`)
      })
    }
  }
  assert.deepEqual(found, [], 'take the default from the section (a decoded section has it; `withDefaults(schema, value)` fills it in for values that do not come through the loader)')
})

test('the check knows every default (so a section without any would be noticed)', () => {
  const keys = declaredDefaults().map(([k]) => k)
  for (const k of ['seed', 'revision', 'r', 'alpha', 'max_length', 'learning_rate', 'save_total_limit', 'threshold', 'backend', 'batch_size', 'merge', 'metric']) assert.ok(keys.includes(k), k)
})
