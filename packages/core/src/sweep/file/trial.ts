// A trial's pipeline is the base with `--set` arguments: the command line's, then one per path its
// assignment sets. Values are written so that `loadPipeline(base, {sets})` reads back exactly what
// the sweep file holds: lists and maps as JSON (valid YAML), a string that YAML would read as a
// number, boolean or null quoted, and a map first cleared with `path=null` so it replaces the
// base's map instead of being merged into it. A relative path value (where the pipeline schema
// marks a file, e.g. `model.path`) is relative to the sweep file, as paths in files are.
import * as Effect from 'effect/Effect'
import { isAbsolute, resolve } from 'node:path'
import { parse as parseYamlValue } from 'yaml'
import type { PipelineInvalid } from '../../diagnostics.ts'
import { type LoadOptions, loadPipeline } from '../../pipeline/load.ts'
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import { type JSONSchema, PATH } from '../../schema/json-schema.ts'
import { isPlainObject } from '../../source/document.ts'
import type { Assignment, Parameter, SearchSpace } from '../model.ts'
import { lookupPath } from './paths.ts'

/** The pipeline path -> value pairs an assignment sets, in parameter order (a bundle expanded). */
export function assignedValues(space: SearchSpace, assignment: Assignment): [path: string, value: unknown][] {
  const out: [string, unknown][] = []
  for (const p of space) {
    const has = Object.prototype.hasOwnProperty.call(assignment, p.name)
    if (p.domain.kind === 'constant') {
      out.push([p.name, has ? assignment[p.name] : p.domain.value])
      continue
    }
    if (!has) throw new RangeError(`the assignment has no value for parameter \`${p.name}\``)
    const v = assignment[p.name]
    if (p.domain.kind === 'together') {
      const bundle = typeof v === 'number' ? p.domain.bundles[v] : undefined
      if (!bundle) throw new RangeError(`\`${p.name}\`: ${JSON.stringify(v)} is not the index of one of its ${p.domain.bundles.length} bundles`)
      for (const [path, x] of Object.entries(bundle)) out.push([path, x])
    } else out.push([p.name, v])
  }
  return out
}

/** `--set` arguments for one path and value (two for a map: clear, then set). */
export function setArguments(path: string, value: unknown): string[] {
  if (isPlainObject(value)) return [`${path}=null`, `${path}=${JSON.stringify(value)}`]
  return [`${path}=${valueText(value)}`]
}

/** YAML text that reads back as `v` and is not re-typed by `--set`: bare when safe, else JSON. */
function valueText(v: unknown): string {
  if (typeof v === 'string' && v !== '' && !v.includes(',') && v.trim() === v) {
    try {
      if (parseYamlValue(v) === v) return v
    } catch {
      // not plain YAML: quote it
    }
  }
  return JSON.stringify(v)
}

export interface TrialSource {
  /** Absolute path of the base pipeline. */
  readonly base: string
  /** The sweep file's folder: relative file paths among the values are relative to it. */
  readonly dir: string
  /** The base pipeline (for the schema of each path). */
  readonly basePipeline: ValidatedPipeline
  /** Command-line `--set` arguments for the base, applied first. */
  readonly sets: readonly string[]
  readonly space: SearchSpace
}

/** The assignment's own `--set` arguments (without the command line's). */
export function parameterSets(sweep: TrialSource, assignment: Assignment): string[] {
  return assignedValues(sweep.space, assignment).flatMap(([path, value]) => {
    const found = lookupPath(sweep.basePipeline, path)
    return setArguments(path, found.ok ? filePathsFrom(value, found.schema, sweep.dir) : value)
  })
}

/** Whether a parameter's value sets a file or folder path of the pipeline (where the schema marks one: `model.path`, `dataset.train.path`, ...). */
export function setsFilePath(sweep: Pick<TrialSource, 'basePipeline'>, parameter: Parameter, value: unknown): boolean {
  return assignedValues([parameter], { [parameter.name]: value }).some(([path, v]) => {
    const found = lookupPath(sweep.basePipeline, path)
    return found.ok && holdsFilePath(v, found.schema)
  })
}

function holdsFilePath(value: unknown, schema: JSONSchema | undefined): boolean {
  if (!schema) return false
  if (typeof value === 'string') return schema[PATH] === true && value !== ''
  if (Array.isArray(value)) return schema.items !== null && typeof schema.items === 'object' && value.some((x) => holdsFilePath(x, schema.items as JSONSchema))
  if (isPlainObject(value)) {
    const props = (schema.properties ?? {}) as Record<string, JSONSchema>
    return Object.entries(value).some(([k, x]) => holdsFilePath(x, props[k]))
  }
  return false
}

/** The value with each relative file path in it (where the schema marks one) made absolute from `dir`. */
function filePathsFrom(value: unknown, schema: JSONSchema | undefined, dir: string): unknown {
  if (!schema) return value
  if (typeof value === 'string') return schema[PATH] === true && value !== '' && !isAbsolute(value) && !value.includes('${') ? resolve(dir, value) : value
  if (Array.isArray(value)) return schema.items && typeof schema.items === 'object' ? value.map((x) => filePathsFrom(x, schema.items as JSONSchema, dir)) : value
  if (isPlainObject(value)) {
    const props = (schema.properties ?? {}) as Record<string, JSONSchema>
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, filePathsFrom(x, props[k], dir)]))
  }
  return value
}

/**
 * Every `--set` argument of a trial: the command line's, then the assignment's. With them,
 * `loadPipeline(sweep.base, {sets: trialSets(sweep, a)})` is the trial's pipeline, and
 * `lorapipe run <base> --set ...` runs it.
 */
export function trialSets(sweep: TrialSource, assignment: Assignment): string[] {
  return [...sweep.sets, ...parameterSets(sweep, assignment)]
}

/**
 * The trial's validated pipeline: the base with `trialSets`, then `opts.sets` (e.g. the trial's
 * own `output.dir`). Fails as `loadPipeline` does when the combination is invalid (for a grid of
 * at most GRID_CHECK_LIMIT combinations `loadSweep` has already ruled that out).
 */
export function loadTrialPipeline(sweep: TrialSource, assignment: Assignment, opts: LoadOptions = {}): Effect.Effect<ValidatedPipeline, PipelineInvalid> {
  return loadPipeline(sweep.base, { ...opts, sets: [...trialSets(sweep, assignment), ...(opts.sets ?? [])] })
}
