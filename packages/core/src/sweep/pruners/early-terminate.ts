// The pruner a sweep file's `early_terminate` names; none when it is absent.
import type { EarlyTerminate, Pruner } from '../model.ts'
import { ashaPruner } from './asha.ts'
import { medianPruner } from './median.ts'
import { noPruner } from './none.ts'

export function prunerFor(config: EarlyTerminate | undefined): Pruner {
  if (config === undefined) return noPruner()
  switch (config.type) {
    case 'asha':
      return ashaPruner(config)
    case 'median':
      return medianPruner(config)
  }
}
