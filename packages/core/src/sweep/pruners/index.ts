// Early-stopping rules: after a trial's evaluation, whether to stop it now.
export { ashaPruner, type AshaOptions } from './asha.ts'
export { median, medianPruner, type MedianOptions } from './median.ts'
export { noPruner } from './none.ts'
export { prunerFor } from './early-terminate.ts'
