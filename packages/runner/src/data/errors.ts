// Tagged error for bad dataset files and specs: always names the file and, where there is one,
// the 1-based line (text formats) or row (Parquet) so the user can open the file at the spot.
import * as Data from 'effect/Data'

export class DatasetError extends Data.TaggedError('DatasetError')<{
  readonly file: string
  /** 1-based line for TSV/CSV/JSONL, 1-based row for Parquet; absent for whole-file problems. */
  readonly line?: number
  readonly message: string
}> {}

/** Builds a DatasetError whose message starts with `file:line:` (or `file:`). */
export function datasetError(file: string, line: number | undefined, what: string, unit: 'line' | 'row' = 'line'): DatasetError {
  const where = line === undefined ? file : unit === 'line' ? `${file}:${line}` : `${file} (row ${line})`
  return new DatasetError({ file, ...(line === undefined ? {} : { line }), message: `${where}: ${what}` })
}
