// Public surface of SFT data: rows from files, tokenized examples with labels, packing, batches.
export {
  CHAT_ROLES,
  DEFAULT_SFT_COLUMNS,
  SFT_KINDS,
  detectSftKind,
  rowError,
  sftRowsFromTable,
  type RowOrigin,
  type SftColumns,
  type SftKind,
  type SftRow,
} from './rows.ts'
export {
  loadSftRows,
  loadSftSplits,
  selectSftRows,
  type SftDatasetSpec,
  type SftFileSpec,
  type SftRows,
  type SftSelect,
  type SftSplitSpec,
} from './load.ts'
export {
  IGNORE_INDEX,
  describeSftStats,
  encodeSftRow,
  encodeSftRows,
  type EncodedRow,
  type SftEncodeOptions,
  type SftExample,
  type SftStats,
  type TruncationMode,
} from './encode.ts'
export { packExamples, type PackingStats, type SftSequence } from './packing.ts'
export { collateCausalLm, type CausalLmBatch, type CollateOptions } from './collate.ts'
