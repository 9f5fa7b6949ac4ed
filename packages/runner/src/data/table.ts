// What every file reader produces: named columns, row values, and where each row came from.
import type { SplitSection } from '@lorapipe/core/pipeline/sections/index.ts'

export interface RawTable {
  file: string
  /** Column names in file order (header for TSV/CSV, keys of the first object for JSONL, schema for Parquet). */
  columns: string[]
  rows: Record<string, unknown>[]
  /** Location of each row: 1-based line (text formats) or 1-based row number (Parquet). */
  where: number[]
  unit: 'line' | 'row'
  /** Class names per column, when the file says (Parquet written by Hugging Face `datasets`). */
  classNames?: Record<string, string[]>
}

/** A split's `format`. */
export type Format = NonNullable<SplitSection['format']>
