// The one list of built-in stages: for each, its spec (from core, which validates pipelines with
// it), its body and its preflight check (what it reads, checked before a run folder exists).
// Adding a built-in stage is its spec in core/stage/builtins.ts and one entry here. A body is
// imported when its stage first runs, so that commands which run nothing (`validate`, `plan`)
// never load TensorFlow.js; the executor takes the bodies (`stageBodies`) through core's
// BuiltinStages, the preflight (preflight/pipeline.ts) takes the checks.
import * as Effect from 'effect/Effect'
import type { StageRun, StageSpec } from '@lorapipe/core'
import { compareSpec, evaluateSpec, exportSpec, finetuneSpec, sweepSpec } from '@lorapipe/core/stage/builtins.ts'
import { compareInputs, evaluateInputs, exportInputs, finetuneInputs, sweepInputs, type StageCheck } from '../preflight/inputs.ts'

export interface BuiltinStage {
  readonly spec: StageSpec
  readonly run: StageRun<any>
  /** What the stage reads, checked before anything is written; the same code the body runs. */
  readonly check: StageCheck
  /** The stage starts a backend, and so reads `runtime.*`, LORAPIPE_BACKEND and LORAPIPE_BLAS. */
  readonly startsBackend: boolean
}

const stages: readonly BuiltinStage[] = [
  { spec: compareSpec, run: (params, ctx) => import('./compare.ts').then((m) => m.compareStage(params, ctx)), check: compareInputs, startsBackend: false },
  { spec: finetuneSpec, run: (params, ctx) => Effect.flatMap(Effect.promise(() => import('./finetune.ts')), (m) => m.finetuneStage(params, ctx)), check: finetuneInputs, startsBackend: true },
  { spec: evaluateSpec, run: (params, ctx) => Effect.flatMap(Effect.promise(() => import('./evaluate.ts')), (m) => m.evaluateStage(params, ctx)), check: evaluateInputs, startsBackend: true },
  { spec: exportSpec, run: (params, ctx) => Effect.flatMap(Effect.promise(() => import('./export.ts')), (m) => m.exportStage(params, ctx)), check: exportInputs, startsBackend: true },
  // Runs the sweep file's trials as child processes (core's local executor, with what the program
  // running the pipeline provides as core's SweepStageHost) and hands on the best.
  { spec: sweepSpec, run: (params, ctx) => Effect.flatMap(Effect.promise(() => import('@lorapipe/core/sweep/stage.ts')), (m) => m.sweepStage(params, ctx)), check: sweepInputs, startsBackend: false },
]

export const builtinStages: ReadonlyMap<string, BuiltinStage> = new Map(stages.map((s) => [s.spec.name, s]))

/** The bodies, by stage name: what the executor runs (core's BuiltinStages). */
export function stageBodies(registry: ReadonlyMap<string, BuiltinStage>): ReadonlyMap<string, StageRun<any>> {
  return new Map([...registry].map(([name, s]) => [name, s.run]))
}
