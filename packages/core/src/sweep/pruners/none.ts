// No early stopping: every trial runs to the end.
import type { Pruner } from '../model.ts'

export function noPruner(): Pruner {
  return { name: 'none', shouldPrune: () => false }
}
