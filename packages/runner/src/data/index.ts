// Public surface of the data area.
export { DatasetError } from './errors.ts'
export {
  loadDataset,
  loadSplits,
  select,
  shuffleRows,
  splitByRatio,
  take,
  type ColumnSpec,
  type Dataset,
  type DatasetSpec,
  type Example,
  type FileSpec,
  type SelectSpec,
  type SplitSpec,
} from './dataset.ts'
export { Rng, deriveSeed, shuffle } from './rng.ts'
export { inferFormat, resolveFiles } from './files.ts'
export { classNamesFromHfMetadata } from './parquet.ts'
export type { Format } from './table.ts'
export { readTable } from './read.ts'
