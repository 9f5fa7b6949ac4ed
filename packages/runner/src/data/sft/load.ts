// Reads SFT rows from local files (JSON lines, Parquet, TSV/CSV; a `*` glob in the file name) with
// the same readers as classification data, then applies the split's seeded shuffle and limit, and
// carves an eval split by ratio as `loadSplits` does.
import { DEFAULT_SEED } from '@lorapipe/core/pipeline/sections/index.ts'
import { DatasetError, datasetError } from '../errors.ts'
import { inferFormat, resolveFiles } from '../files.ts'
import { readTable } from '../read.ts'
import { Rng } from '../rng.ts'
import type { Format } from '../table.ts'
import { DEFAULT_SFT_COLUMNS, detectSftKind, sftRowsFromTable, type SftColumns, type SftKind, type SftRow } from './rows.ts'

export interface SftSelect {
  shuffle?: boolean
  /** Shuffle seed (default: the pipeline's default seed; the pipeline passes its own). */
  seed?: number
  /** Keep the first N rows (after shuffling). */
  limit?: number
}

export interface SftFileSpec extends SftSelect {
  /** A file, or a `*` glob in the file name (files are read in name order). */
  path: string
  /** File format; inferred from the extension when absent. */
  format?: Format
  /** Folder relative paths are resolved against (default: the current directory). */
  baseDir?: string
  /** Column names; defaults messages, prompt, completion, text. */
  columns?: Partial<SftColumns>
  /** The kind of rows; detected from the columns of the first file when absent. */
  kind?: SftKind
}

export interface SftRows {
  rows: SftRow[]
  kind: SftKind
  source: { files: string[]; format: Format; rowsRead: number }
}

function columnsOf(spec: { columns?: Partial<SftColumns> }): SftColumns {
  return { ...DEFAULT_SFT_COLUMNS, ...(spec.columns ?? {}) }
}

/** Reads the files of `spec` into SFT rows, then applies its shuffle and limit. */
export async function loadSftRows(spec: SftFileSpec): Promise<SftRows> {
  const files = resolveFiles(spec.path, spec.baseDir)
  const format = spec.format ?? inferFormat(files[0]!)
  const columns = columnsOf(spec)
  let kind = spec.kind
  const rows: SftRow[] = []
  for (const f of files) {
    if (spec.format === undefined && inferFormat(f) !== format) {
      throw datasetError(f, undefined, `the glob ${JSON.stringify(spec.path)} mixes formats (${format} and ${inferFormat(f)}); use one format per split`)
    }
    const table = await readTable(f, format)
    // Every file must be of the first file's kind: a glob of chat and text files is a mistake.
    kind = detectSftKind(table, columns, kind)
    for (const r of sftRowsFromTable(table, kind, columns)) rows.push(r)
  }
  if (kind === undefined) throw new DatasetError({ file: spec.path, message: `${spec.path}: no files` })
  return selectSftRows({ rows, kind, source: { files, format, rowsRead: rows.length } }, spec)
}

/** Applies shuffle (seeded) then limit, as `select` does for classification data. */
export function selectSftRows(set: SftRows, spec: SftSelect): SftRows {
  if (spec.limit !== undefined && (!Number.isInteger(spec.limit) || spec.limit < 1)) {
    throw new DatasetError({ file: set.source.files[0] ?? '', message: `limit must be a positive integer, got ${spec.limit}` })
  }
  let rows = set.rows
  if (spec.shuffle) rows = new Rng(spec.seed ?? DEFAULT_SEED).shuffleInPlace(rows.slice())
  if (spec.limit !== undefined) rows = rows.slice(0, spec.limit)
  return rows === set.rows ? set : { ...set, rows }
}

/** One split of the pipeline's dataset section. */
export interface SftSplitSpec extends SftSelect {
  path?: string
  format?: Format
  /** Only for eval: carve this fraction out of the train rows instead of reading a file. */
  ratio?: number
}

export interface SftDatasetSpec {
  train: SftSplitSpec
  eval?: SftSplitSpec
  columns?: Partial<SftColumns>
  kind?: SftKind
}

/**
 * Loads train and (optionally) eval. With `eval.ratio`, eval is carved from the train rows with the
 * same seeded permutation as classification data (ceil(n * ratio) rows), before each part's own
 * shuffle and limit.
 */
export async function loadSftSplits(spec: SftDatasetSpec, options: { baseDir?: string; seed?: number } = {}): Promise<{ train: SftRows; eval?: SftRows }> {
  const seed = options.seed ?? DEFAULT_SEED
  const fileSpec = (name: string, s: SftSplitSpec, kind?: SftKind): SftFileSpec => {
    if (s.path === undefined) throw new DatasetError({ file: '', message: `dataset.${name} has no local path; download the split first (hub) and pass its file path` })
    return {
      path: s.path,
      ...(s.format ? { format: s.format } : {}),
      ...(options.baseDir ? { baseDir: options.baseDir } : {}),
      ...(spec.columns ? { columns: spec.columns } : {}),
      ...(kind ? { kind } : {}),
    }
  }
  const withSeed = (s: SftSplitSpec): SftSelect => ({ ...s, seed: s.seed ?? seed })
  const trainAll = await loadSftRows(fileSpec('train', spec.train, spec.kind))
  if (spec.eval === undefined) return { train: selectSftRows(trainAll, withSeed(spec.train)) }
  if (spec.eval.ratio !== undefined) {
    const { train, held } = splitRows(trainAll, spec.eval.ratio, spec.eval.seed ?? seed)
    return { train: selectSftRows(train, withSeed(spec.train)), eval: selectSftRows(held, withSeed(spec.eval)) }
  }
  // Eval rows must be of the train rows' kind (a model trained on chat is evaluated on chat).
  const evalAll = await loadSftRows(fileSpec('eval', spec.eval, spec.kind ?? trainAll.kind))
  return { train: selectSftRows(trainAll, withSeed(spec.train)), eval: selectSftRows(evalAll, withSeed(spec.eval)) }
}

function splitRows(set: SftRows, ratio: number, seed: number): { train: SftRows; held: SftRows } {
  const n = set.rows.length
  const file = set.source.files[0] ?? ''
  if (!(ratio > 0 && ratio < 1)) throw new DatasetError({ file, message: `split ratio must be between 0 and 1 (exclusive), got ${ratio}` })
  const nEval = Math.ceil(n * ratio)
  if (nEval >= n || n < 2) throw new DatasetError({ file, message: `cannot carve ${ratio} of ${n} rows into two non-empty parts` })
  const perm = new Rng(seed).permutation(n)
  const isEval = new Uint8Array(n)
  for (let k = 0; k < nEval; k++) isEval[perm[k]!] = 1
  const train: SftRow[] = []
  const held: SftRow[] = []
  for (let i = 0; i < n; i++) (isEval[i] ? held : train).push(set.rows[i]!)
  return { train: { ...set, rows: train }, held: { ...set, rows: held } }
}
