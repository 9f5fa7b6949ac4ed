// Implementations of the built-in stages. Each is imported when it first runs, so that commands
// which run nothing never load TensorFlow.js.
import * as Effect from 'effect/Effect'
import type { StageRun } from '@lorapipe/core'

export function builtinStageImplementations(): ReadonlyMap<string, StageRun<any>> {
  return new Map<string, StageRun<any>>([
    ['compare', (params, ctx) => import('./compare.ts').then((m) => m.compareStage(params, ctx))],
    ['finetune', (params, ctx) => Effect.flatMap(Effect.promise(() => import('./finetune.ts')), (m) => m.finetuneStage(params, ctx))],
    ['evaluate', (params, ctx) => Effect.flatMap(Effect.promise(() => import('./evaluate.ts')), (m) => m.evaluateStage(params, ctx))],
    ['export', (params, ctx) => Effect.flatMap(Effect.promise(() => import('./export.ts')), (m) => m.exportStage(params, ctx))],
  ])
}
