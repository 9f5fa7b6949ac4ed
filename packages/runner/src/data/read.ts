// Reads one data file of a known format into a RawTable (the readers per format, one entry point).
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { readCsv, readTsv } from './delimited.ts'
import { datasetError } from './errors.ts'
import { readJsonl } from './jsonl.ts'
import { readParquet } from './parquet.ts'
import type { Format, RawTable } from './table.ts'

/** Reads `file`; `wanted` columns let Parquet decode only those (all when one is missing, so the caller can list them). */
export async function readTable(file: string, format: Format, wanted?: readonly string[]): Promise<RawTable> {
  if (format === 'parquet') return readParquet(file, wanted)
  let text: string
  try {
    text = readUserText(file, FILE_KINDS.textData)
  } catch (e) {
    throw datasetError(file, undefined, e instanceof UserFileError ? e.reason : `cannot read: ${(e as Error).message}`)
  }
  return format === 'tsv' ? readTsv(file, text) : format === 'csv' ? readCsv(file, text) : readJsonl(file, text)
}
