// Implementations of the built-in stages. Each is imported when it first runs, so that commands
// which run nothing never load TensorFlow.js.
import type { StageRun } from '@lorapipe/core'

export function builtinStageImplementations(): ReadonlyMap<string, StageRun<any>> {
  return new Map<string, StageRun<any>>([['compare', (params, ctx) => import('./compare.ts').then((m) => m.compareStage(params, ctx))]])
}
