// Loading a pipeline for any command: errors become the standard report on stderr and exit 2.
import * as Effect from 'effect/Effect'
// core's modules by path, not its index: bundled, the index would make `validate` load every
// module it names (the executor, Effect Schema); see scripts/build.mjs.
import { formatDiagnostics, PipelineInvalid } from '@lorapipe/core/diagnostics.ts'
import { loadPipeline, sourceTextsOf } from '@lorapipe/core/pipeline/load.ts'
import type { ValidatedPipeline } from '@lorapipe/core/pipeline/types.ts'

export type Loaded = { ok: true; pipeline: ValidatedPipeline } | { ok: false; error: PipelineInvalid }

export async function load(file: string, sets: readonly string[]): Promise<Loaded> {
  const r = await Effect.runPromise(Effect.either(loadPipeline(file, { sets })))
  return r._tag === 'Right' ? { ok: true, pipeline: r.right } : { ok: false, error: r.left }
}

export function reportInvalid(e: PipelineInvalid): string {
  return `${formatDiagnostics(e.diagnostics, sourceTextsOf(e))} in ${e.file}\n`
}

export function diagnosticsJson(e: PipelineInvalid) {
  return e.diagnostics.map((d) => ({
    file: d.location?.file,
    line: d.location?.line,
    column: d.location?.column,
    pointer: d.pointer,
    message: d.message,
    hint: d.hint,
  }))
}
