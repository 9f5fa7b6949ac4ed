// A search space written as a sweep file's `parameters:` (W&B's syntax), from a program rather than
// a YAML file: checked by the same schema and the same rules (parameters.ts, domain.ts), each
// problem named by where it is (`parameters.lr.min`) with its fix. And the two forms of a point:
// `params` as a user sees it (a `together` entry's value is its bundle) and the assignment the
// samplers and the sweep record hold (a bundle's index).
import type { Diagnostic } from '../../diagnostics.ts'
import type { JSONSchema } from '../../schema/json-schema.ts'
import { validateAgainst } from '../../schema/validate.ts'
import { DEFAULT_SEED } from '../../pipeline/sections/seed.ts'
import type { Assignment, Goal, Parameter, SearchMethod, SearchSpace } from '../model.ts'
import { canonicalKey } from '../samplers/configuration.ts'
import { domainProblem, numericContains, resolveDomain } from '../samplers/domain.ts'
import { gridAccepts } from '../samplers/grid.ts'
import { parameterPointer, readParameter } from '../file/parameters.ts'
import { sweepSchema, type Distribution } from '../file/schema.ts'
import { withWandbHint } from '../file/wandb-names.ts'

/** One entry of a sweep file's `parameters:`, as an object (the keys and meaning of the sweep file). */
export interface SearchParameter {
  /** Fixed in every trial. */
  readonly value?: unknown
  /** The choices (a categorical). */
  readonly values?: readonly unknown[]
  readonly distribution?: Distribution
  readonly min?: number
  readonly max?: number
  /** Step of `q_uniform` and `q_log_uniform_values`. */
  readonly q?: number
  /** Values that change together: one bundle per trial; `params` holds the bundle. */
  readonly together?: readonly Readonly<Record<string, unknown>>[]
}

export type SearchParameters = Readonly<Record<string, SearchParameter>>

/** What `createSearch` takes once checked. */
export interface SearchSettings {
  readonly method: SearchMethod
  readonly seed: number
  readonly goal: Goal
  readonly space: SearchSpace
}

let schemaMemo: JSONSchema | undefined
/** The sweep file's own schema for `method`, `seed`, `metric.goal` and `parameters`. */
function searchSchema(): JSONSchema {
  if (schemaMemo) return schemaMemo
  const sweep = sweepSchema() as { properties: Record<string, JSONSchema & { properties?: Record<string, JSONSchema> }>; $defs: JSONSchema }
  schemaMemo = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['method', 'parameters'],
    properties: {
      method: sweep.properties.method,
      seed: sweep.properties.seed,
      goal: sweep.properties.metric!.properties!.goal,
      parameters: sweep.properties.parameters,
    },
    $defs: sweep.$defs,
  }
  return schemaMemo
}

/** The options' problems (every one), or the settings they make. */
export function readSearchOptions(options: unknown): { ok: true; settings: SearchSettings } | { ok: false; diagnostics: Diagnostic[] } {
  const none = new Map()
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    return { ok: false, diagnostics: [{ message: 'createSearch takes an object: { method, seed, goal, parameters }' }] }
  }
  // The schema's checks on a copy: ajv must not see getters or class instances as the caller's.
  let copy: Record<string, unknown>
  try {
    copy = structuredClone(options) as Record<string, unknown>
  } catch (e) {
    return { ok: false, diagnostics: [{ message: `the options must be plain data (numbers, strings, lists, objects): ${(e as Error).message}` }] }
  }
  const ds = validateAgainst(searchSchema(), copy, none).map((d) => withWandbHint(d, copy))
  const broken = (ptr: string) => ds.some((d) => d.pointer === ptr || d.pointer?.startsWith(ptr + '/'))
  const space: Parameter[] = []
  const params = copy.parameters !== null && typeof copy.parameters === 'object' && !Array.isArray(copy.parameters) ? (copy.parameters as Record<string, unknown>) : {}
  for (const [name, raw] of Object.entries(params)) {
    if (raw === null || typeof raw !== 'object' || broken(parameterPointer(name))) continue
    const r = readParameter(name, raw as Record<string, unknown>, none)
    if (!r.ok) {
      ds.push(...r.diagnostics)
      continue
    }
    const problem = domainProblem(r.entry.domain)
    if (problem) ds.push({ pointer: parameterPointer(name), message: `parameter \`${name}\` ${problem}` })
    else space.push({ name, domain: r.entry.domain })
  }
  const method = copy.method as SearchMethod
  if (method === 'grid') {
    for (const p of space) {
      if (gridAccepts(p.domain)) continue
      ds.push({
        pointer: parameterPointer(p.name),
        message: `a grid needs a list of values, but \`${p.name}\` is a ${p.domain.kind === 'int' ? 'whole-number' : 'real'} range`,
        hint: 'give `values: [...]`, or use `method: random`, `method: tpe` or `method: gp`',
      })
    }
  }
  if (ds.length > 0) return { ok: false, diagnostics: ds }
  return { ok: true, settings: { method, seed: (copy.seed as number | undefined) ?? DEFAULT_SEED, goal: (copy.goal as Goal | undefined) ?? 'minimize', space } }
}

/** An assignment as the user sees it: a `together` parameter's bundle (a copy) in place of its index. */
export function paramsOf(space: SearchSpace, assignment: Assignment): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const p of space) {
    if (!Object.prototype.hasOwnProperty.call(assignment, p.name)) continue
    const v = assignment[p.name]
    out[p.name] = p.domain.kind === 'together' && typeof v === 'number' && p.domain.bundles[v] !== undefined ? structuredClone(p.domain.bundles[v]) : v
  }
  return out
}

/**
 * User-given params as an assignment: every parameter of the space (constants may be left out),
 * nothing else, each value one the parameter can take (a bundle of a `together` by its contents);
 * else the problems, each at `params.<name>`.
 */
export function assignmentOf(space: SearchSpace, params: unknown): { ok: true; assignment: Assignment } | { ok: false; problems: string[] } {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return { ok: false, problems: ['params must be an object: parameter name -> value'] }
  const given = params as Record<string, unknown>
  const problems: string[] = []
  const out: Record<string, unknown> = {}
  for (const name of Object.keys(given)) if (!space.some((p) => p.name === name)) problems.push(`params.${name}: not a parameter of this search (its parameters: ${space.map((p) => p.name).join(', ')})`)
  for (const p of space) {
    const has = Object.prototype.hasOwnProperty.call(given, p.name)
    if (!has) {
      if (p.domain.kind === 'constant') out[p.name] = p.domain.value
      else problems.push(`params.${p.name}: missing`)
      continue
    }
    const v = given[p.name]
    const shown = JSON.stringify(v) ?? String(v)
    const d = resolveDomain(p.name, p.domain)
    if (p.domain.kind === 'together') {
      const key = canonicalKey(v)
      const i = p.domain.bundles.findIndex((b) => canonicalKey(b) === key)
      if (i < 0) problems.push(`params.${p.name}: ${shown} is not one of its bundles`)
      else out[p.name] = i
    } else if (d.kind === 'fixed') {
      if (canonicalKey(v) !== canonicalKey(d.value)) problems.push(`params.${p.name}: ${shown}, but it is fixed at ${JSON.stringify(d.value)}`)
      else out[p.name] = v
    } else if (d.kind === 'choice') {
      if (d.indexOf(v) === undefined) problems.push(`params.${p.name}: ${shown} is not one of its values (${d.values.map((x) => JSON.stringify(x)).join(', ')})`)
      else out[p.name] = v
    } else if (!numericContains(d, v) || (d.integer && !Number.isInteger(v))) {
      problems.push(`params.${p.name}: ${shown} is not ${d.integer ? 'a whole number' : 'a number'} in [${d.low}, ${d.high}]`)
    } else out[p.name] = v
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, assignment: out }
}
