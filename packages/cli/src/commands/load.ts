// Loading a pipeline for any command: errors become the standard report on stderr and exit 2.
import * as Effect from 'effect/Effect'
// core's modules by path, not its index: bundled, the index would make `validate` load every
// module it names (the executor, Effect Schema); see scripts/build.mjs.
import { type Diagnostic, formatDiagnostics, formatWarnings, PipelineInvalid, type SourceTexts } from '@lorapipe/core/diagnostics.ts'
import { loadPipeline, sourceTextsOf } from '@lorapipe/core/pipeline/load.ts'
import type { ValidatedPipeline } from '@lorapipe/core/pipeline/types.ts'

import { setOverrides, shadowedOverrides } from '@lorapipe/core/pipeline/sections/shadowed.ts'

/** `warnings`: `--set` arguments that another setting makes ineffective (`trainer.epochs` under `max_steps`). */
export type Loaded = { ok: true; pipeline: ValidatedPipeline; warnings: readonly Diagnostic[] } | { ok: false; error: PipelineInvalid }

export async function load(file: string, sets: readonly string[]): Promise<Loaded> {
  const r = await Effect.runPromise(Effect.either(loadPipeline(file, { sets })))
  return r._tag === 'Right' ? { ok: true, pipeline: r.right, warnings: shadowedOverrides(r.right, setOverrides(sets)) } : { ok: false, error: r.left }
}

/** Warnings on stderr, before anything else is said: they never change the exit code. */
export function printWarnings(ws: readonly Diagnostic[], texts?: SourceTexts): void {
  if (ws.length > 0) process.stderr.write(formatWarnings(ws, texts))
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

/** Warnings as `--json` lists them (the same fields as errors). */
export function warningsJson(ws: readonly Diagnostic[]) {
  return diagnosticsJson(new PipelineInvalid({ file: '', diagnostics: ws }))
}
