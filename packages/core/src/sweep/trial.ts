// A trial's pipeline: the sweep's base (after `extends` and the command line's `--set`) with each
// value of the trial's assignment set at its path, as an object: a map replaces the base's map
// (it is not merged into it), a relative file path among the values (where the pipeline schema
// marks one, e.g. `model.path`) is relative to the sweep file, as paths in files are, and a value
// is typed by the schema as a `--set` value is. Vars and env are interpolated after the values are
// set, so a swept `vars.x` reaches every `${vars.x}`. The one way a trial's pipeline is made:
// by the coordinator for each trial, by a queue worker from a job's values, and by the sweep
// file's preflight for each value it probes.
import type * as Effect from 'effect/Effect'
import { isAbsolute, resolve } from 'node:path'
import type { PipelineInvalid } from '../diagnostics.ts'
import { loadPipelineDocument, type PipelineDocument } from '../pipeline/load.ts'
import { pipelineSchemaAt } from '../pipeline/schema.ts'
import type { ValidatedPipeline } from '../pipeline/types.ts'
import { type JSONSchema, PATH } from '../schema/json-schema.ts'
import { isPlainObject } from '../source/document.ts'
import { setValue } from '../source/overrides.ts'
import type { Assignment, Parameter, SearchSpace } from './model.ts'
import { lookupPath } from './file/paths.ts'

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

export interface TrialSource {
  /** The sweep file's folder: relative file paths among the values are relative to it. */
  readonly dir: string
  /** The base pipeline with the command line's `--set` values. */
  readonly basePipeline: ValidatedPipeline
  readonly space: SearchSpace
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

export interface TrialOptions {
  /** The environment `${env.X}` reads; default process.env. */
  readonly env?: Record<string, string | undefined>
  /** The folder the trial runs in: a relative file path that only a reference makes (`${vars.x}/a`) is relative to it, as with `--set`. */
  readonly cwd?: string
}

/** The trial's document: the base's, with the assignment's values set. */
export function trialDocument(sweep: TrialSource, assignment: Assignment, cwd?: string): PipelineDocument {
  const base = sweep.basePipeline
  const schemaAt = (segs: string[]) => pipelineSchemaAt(base.document.value, segs)
  let doc = base.document
  for (const [path, value] of assignedValues(sweep.space, assignment)) {
    const found = lookupPath(base, path)
    const own = structuredClone(found.ok ? filePathsFrom(value, found.schema, sweep.dir) : value)
    const segs = path.split('.')
    const place = { file: `trial value ${path}`, line: 0, column: 0 }
    // A map replaces the base's: cleared first.
    for (const v of isPlainObject(own) ? [null, own] : [own]) {
      const r = setValue(doc, segs, v, place, schemaAt, undefined, cwd)
      // Only a reserved key can be refused here, and the sweep file never holds one.
      if ('doc' in r) doc = r.doc
    }
  }
  return { file: base.file, dir: base.dir, doc, texts: new Map(base.texts), files: base.files }
}

/** The trial's validated pipeline; fails as `loadPipeline` does when the combination is invalid (for a grid of at most GRID_CHECK_LIMIT combinations `loadSweep` has already ruled that out). */
export function trialPipeline(sweep: TrialSource, assignment: Assignment, opts: TrialOptions = {}): Effect.Effect<ValidatedPipeline, PipelineInvalid> {
  return loadPipelineDocument(trialDocument(sweep, assignment, opts.cwd), opts.env ? { env: opts.env } : {})
}
