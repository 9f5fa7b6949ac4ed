// Loading and validating a pipeline for the programmatic API: core's loadPipeline (the same
// checks, messages and hints as `lorapipe validate`), from a file or from an object made in code,
// and the same input checks as `lorapipe run` makes before it writes anything (the preflight).
import { resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import { stringify } from 'yaml'
import { formatDiagnostics } from '@lorapipe/core/diagnostics.ts'
import { loadPipeline as loadPipelineFile, sourceTextsOf } from '@lorapipe/core/pipeline/load.ts'
import type { ValidatedPipeline } from '@lorapipe/core/pipeline/types.ts'
import { InvalidInput } from './errors.ts'

/** A pipeline that passed every check: only loadPipeline makes one (the type is branded). */
export type Pipeline = ValidatedPipeline

/** A pipeline file as an object: the same keys as the YAML (`name`, `model`, `lora`, `trainer`, `stages`, ...). */
export type PipelineDocument = Readonly<Record<string, unknown>>

/** A pipeline file's path, or its document as an object. */
export type PipelineSource = string | PipelineDocument

export interface LoadPipelineOptions {
  /** `key.path=value` overrides, as `--set` takes them, applied in order. */
  readonly sets?: readonly string[]
  /** For a document: the folder its relative paths (data, models, `uses: ./stage.ts`) resolve from; default: the current folder. */
  readonly dir?: string
  /** For a document: the file name it is reported under (in `dir`); default `<name>.yaml`. */
  readonly fileName?: string
  /** The environment `${env.NAME}` reads; default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** Where an object-made pipeline lives: a file name in `dir` that need not exist. */
function documentFile(doc: PipelineDocument, opts: LoadPipelineOptions): string {
  const name = typeof doc.name === 'string' && /^[\w.-]+$/.test(doc.name) ? doc.name : 'pipeline'
  return resolve(opts.dir ?? '.', opts.fileName ?? `${name}.yaml`)
}

/**
 * Loads a pipeline and checks it: YAML (or the object), `extends`, vars, env, `sets`, the schema,
 * the stages (built-in or modules) and their parameters, the graph. Rejects with InvalidInput,
 * every problem in one report.
 */
export async function loadPipeline(source: PipelineSource, options: LoadPipelineOptions = {}): Promise<Pipeline> {
  const file = typeof source === 'string' ? resolve(source) : documentFile(source, options)
  const load = loadPipelineFile(file, {
    ...(options.sets ? { sets: options.sets } : {}),
    ...(options.env ? { env: { ...options.env } } : {}),
    ...(typeof source === 'string' ? {} : { text: stringify(source) }),
  })
  const r = await Effect.runPromise(Effect.either(load))
  if (r._tag === 'Right') return r.right
  throw new InvalidInput({ message: `${formatDiagnostics(r.left.diagnostics, sourceTextsOf(r.left))} in ${r.left.file}`, diagnostics: r.left.diagnostics })
}

export type Validation =
  | { readonly valid: true; readonly pipeline: Pipeline; readonly unchecked: readonly string[] }
  | { readonly valid: false; readonly error: InvalidInput }

/**
 * What `lorapipe validate` checks: loadPipeline, then the files and data the stages read, the
 * labels and the LoRA targets (`unchecked` lists what can only be checked once it is downloaded).
 * Never rejects for bad input: the answer says what is wrong.
 */
export async function validatePipeline(source: PipelineSource, options: LoadPipelineOptions = {}): Promise<Validation> {
  let p: Pipeline
  try {
    p = await loadPipeline(source, options)
  } catch (e) {
    if (e instanceof InvalidInput) return { valid: false, error: e }
    throw e
  }
  const { preflight } = await import('@lorapipe/runner/preflight/pipeline.ts')
  const checked = await preflight(p)
  if (checked.diagnostics.length === 0) return { valid: true, pipeline: p, unchecked: checked.unchecked }
  return { valid: false, error: new InvalidInput({ message: `${formatDiagnostics(checked.diagnostics, p.texts)} in ${p.file}`, diagnostics: checked.diagnostics }) }
}
