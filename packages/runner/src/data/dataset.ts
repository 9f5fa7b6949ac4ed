// Loads a text classification dataset from local files into rows of {text, textPair?, label} and
// selects from it reproducibly (seeded shuffle, limit, ratio splits). The hub download is elsewhere:
// this module gets local paths.
import { statSync } from 'node:fs'
import { DEFAULT_SEED, type DatasetSection, type SplitSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { closest } from '@lorapipe/core/suggest.ts'
import { DatasetError, datasetError } from './errors.ts'
import { inferFormat, resolveFiles } from './files.ts'
import { resolveLabels } from './labels.ts'
import { readTable } from './read.ts'
import { Rng } from './rng.ts'
import type { Format, RawTable } from './table.ts'

/** Which columns hold what: the `dataset` section's keys. `labels` maps string labels and names integer ones. */
export type ColumnSpec = Pick<DatasetSection, 'text_column' | 'text_pair_column' | 'label_column' | 'labels'>

/** How to pick examples after loading, as a split says it; shuffle happens before limit. Without a seed, the default seed (the pipeline passes its own). */
export type SelectSpec = Partial<Pick<SplitSection, 'shuffle' | 'seed' | 'limit'>>

export interface FileSpec extends ColumnSpec, SelectSpec {
  /** A file, or a `*` glob in the file name (files are read in name order). */
  path: string
  /** Inferred from the extension when absent. */
  format?: Format
  /** Folder relative paths are resolved against (default: the current directory). */
  baseDir?: string
}

export interface Example {
  text: string
  textPair?: string
  /** Class id, 0 <= label < numLabels. */
  label: number
}

export interface Dataset {
  rows: Example[]
  /** Label names by id, when known (spec, Parquet metadata, or string labels in the data). */
  labelNames?: string[]
  /** labelNames.length, else the largest id + 1. */
  numLabels: number
  source: { files: string[]; format: Format; rowsRead: number }
}


function checkColumns(table: RawTable, spec: ColumnSpec): void {
  const wanted: [string, string | undefined][] = [
    ['text_column', spec.text_column],
    ['text_pair_column', spec.text_pair_column],
    ['label_column', spec.label_column],
  ]
  for (const [role, col] of wanted) {
    if (col === undefined || table.columns.includes(col)) continue
    const near = closest(col, table.columns)
    throw datasetError(
      table.file,
      undefined,
      `${role} ${JSON.stringify(col)} is not a column of this file; columns present: ${table.columns.join(', ') || '(none)'}` +
        (near ? `; did you mean ${JSON.stringify(near)}?` : ''),
    )
  }
}

function textAt(table: RawTable, i: number, column: string): string {
  const v = table.rows[i]![column]
  const where = table.where[i]!
  if (typeof v !== 'string') {
    const what = v === undefined ? `has no ${JSON.stringify(column)} field` : `has ${v === null ? 'null' : `a ${Array.isArray(v) ? 'array' : typeof v}`} in text column ${JSON.stringify(column)}; texts must be strings`
    throw datasetError(table.file, where, `this row ${what}`, table.unit)
  }
  if (v.trim() === '') throw datasetError(table.file, where, `empty text in column ${JSON.stringify(column)}; remove the row or fill it in`, table.unit)
  return v
}

// A run's preflight reads the data to check it, then its stage reads the same files: the last
// few datasets read are kept, keyed by their spec and their files' identity and size and time, so
// the second read is free (SST-2's train file takes a quarter second) and an edited file is read again.
const recent = new Map<string, Dataset>()
const RECENT = 2

/** Reads the files of `spec` into examples, then applies its shuffle and limit. */
export async function loadDataset(spec: FileSpec): Promise<Dataset> {
  const files = resolveFiles(spec.path, spec.baseDir)
  const key = keyOf(spec, files)
  const kept = key === undefined ? undefined : recent.get(key)
  if (kept) return kept
  const dataset = await readDataset(spec, files)
  if (key === undefined) return dataset
  recent.set(key, dataset)
  for (const k of recent.keys()) if (recent.size > RECENT) recent.delete(k)
  return dataset
}

function keyOf(spec: FileSpec, files: string[]): string | undefined {
  try {
    return JSON.stringify([spec, files.map((f) => {
      const st = statSync(f)
      return [f, st.ino, st.size, st.mtimeMs]
    })])
  } catch {
    return undefined // gone meanwhile: the read says so
  }
}

async function readDataset(spec: FileSpec, files: string[]): Promise<Dataset> {
  const format = spec.format ?? inferFormat(files[0]!)
  for (const f of files) {
    if (spec.format === undefined && inferFormat(f) !== format) {
      throw datasetError(f, undefined, `the glob ${JSON.stringify(spec.path)} mixes formats (${format} and ${inferFormat(f)}); use one format per split`)
    }
  }
  const wanted = [spec.text_column, spec.label_column, ...(spec.text_pair_column ? [spec.text_pair_column] : [])]
  const tables: RawTable[] = []
  for (const f of files) {
    const t = await readTable(f, format, wanted)
    checkColumns(t, spec)
    tables.push(t)
  }

  // Label names: the spec's win; else ClassLabel names from the files (which must agree).
  let names = spec.labels
  if (names === undefined) {
    for (const t of tables) {
      const found = t.classNames?.[spec.label_column]
      if (!found) continue
      if (names && JSON.stringify(names) !== JSON.stringify(found)) {
        throw datasetError(t.file, undefined, `its ClassLabel names [${found.join(', ')}] differ from [${names.join(', ')}] in ${tables[0]!.file}; set labels: [...] explicitly`)
      }
      names = found
    }
  }

  const texts: string[] = []
  const pairs: string[] = []
  const rawLabels: unknown[] = []
  const origin: { t: number; i: number }[] = []
  tables.forEach((t, ti) => {
    for (let i = 0; i < t.rows.length; i++) {
      texts.push(textAt(t, i, spec.text_column))
      if (spec.text_pair_column) pairs.push(textAt(t, i, spec.text_pair_column))
      const row = t.rows[i]!
      if (!(spec.label_column in row)) {
        throw datasetError(t.file, t.where[i], `this row has no ${JSON.stringify(spec.label_column)} field (the label column)`, t.unit)
      }
      rawLabels.push(row[spec.label_column])
      origin.push({ t: ti, i })
    }
  })
  const labels = resolveLabels(
    rawLabels,
    (k) => {
      const o = origin[k]!
      const t = tables[o.t]!
      return { file: t.file, where: t.where[o.i]!, unit: t.unit }
    },
    spec.label_column,
    names,
  )
  const rows: Example[] = new Array(texts.length)
  let maxId = -1
  for (let k = 0; k < texts.length; k++) {
    const label = labels.ids[k]!
    if (label > maxId) maxId = label
    rows[k] = spec.text_pair_column ? { text: texts[k]!, textPair: pairs[k]!, label } : { text: texts[k]!, label }
  }
  const dataset: Dataset = {
    rows,
    ...(labels.names ? { labelNames: labels.names } : {}),
    numLabels: labels.names ? labels.names.length : maxId + 1,
    source: { files, format, rowsRead: rows.length },
  }
  return select(dataset, spec)
}

function checkSelect(spec: SelectSpec): void {
  if (spec.limit !== undefined && (!Number.isInteger(spec.limit) || spec.limit < 1)) {
    throw new DatasetError({ file: '', message: `limit must be a positive integer, got ${spec.limit}` })
  }
  if (spec.seed !== undefined && !Number.isFinite(spec.seed)) {
    throw new DatasetError({ file: '', message: `seed must be a number, got ${spec.seed}` })
  }
}

/** Seeded Fisher–Yates shuffle of the rows (a new array). */
export function shuffleRows<T>(rows: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffleInPlace(rows.slice())
}

/** The first `limit` rows (all when there are fewer). */
export function take<T>(rows: readonly T[], limit: number): T[] {
  return rows.slice(0, limit)
}

/**
 * Applies shuffle (seeded) then limit. Note: the order differs from Python `datasets`'
 * `shuffle(seed=42).select(range(n))` (numpy PCG64 there, mulberry32 here), so a limited subset
 * holds other examples than the Python recipe's, with the same size and determinism.
 */
export function select(dataset: Dataset, spec: SelectSpec): Dataset {
  checkSelect(spec)
  let rows = dataset.rows
  if (spec.shuffle) rows = shuffleRows(rows, spec.seed ?? DEFAULT_SEED)
  if (spec.limit !== undefined) rows = take(rows, spec.limit)
  return rows === dataset.rows ? dataset : { ...dataset, rows }
}

/**
 * Carves a held-out part of `ratio` (0 < ratio < 1) from a dataset, as `train_test_split` does:
 * ceil(n * ratio) examples chosen by a seeded permutation. Both parts keep the file order, so a
 * later shuffle/limit acts on them as it would on a file.
 */
export function splitByRatio(dataset: Dataset, ratio: number, seed: number = DEFAULT_SEED): { train: Dataset; eval: Dataset } {
  const n = dataset.rows.length
  if (!(ratio > 0 && ratio < 1)) throw new DatasetError({ file: dataset.source.files[0] ?? '', message: `split ratio must be between 0 and 1 (exclusive), got ${ratio}` })
  const nEval = Math.ceil(n * ratio)
  if (nEval >= n || n < 2) {
    throw new DatasetError({ file: dataset.source.files[0] ?? '', message: `cannot carve ${ratio} of ${n} examples into two non-empty parts` })
  }
  const perm = new Rng(seed).permutation(n)
  const isEval = new Uint8Array(n)
  for (let k = 0; k < nEval; k++) isEval[perm[k]!] = 1
  const train: Example[] = []
  const held: Example[] = []
  for (let i = 0; i < n; i++) (isEval[i] ? held : train).push(dataset.rows[i]!)
  return { train: { ...dataset, rows: train }, eval: { ...dataset, rows: held } }
}

/** One split of the pipeline's `dataset` section: a local file (or glob), or (eval only) a ratio carved from train. */
export type SplitSpec = Partial<Omit<SplitSection, 'split'>>

export interface DatasetSpec extends ColumnSpec {
  train: SplitSpec
  eval?: SplitSpec
}

/**
 * Loads train and (optionally) eval. Eval uses train's label names, so string labels map to the
 * same ids. With `eval.ratio`, eval is carved from the train file (seed: eval.seed, else `seed`)
 * before each part's own shuffle/limit.
 */
export async function loadSplits(spec: DatasetSpec, options: { baseDir?: string; seed?: number } = {}): Promise<{ train: Dataset; eval?: Dataset }> {
  const seed = options.seed ?? DEFAULT_SEED
  const cols: ColumnSpec = {
    text_column: spec.text_column,
    label_column: spec.label_column,
    ...(spec.text_pair_column ? { text_pair_column: spec.text_pair_column } : {}),
    ...(spec.labels ? { labels: spec.labels } : {}),
  }
  const fileOf = (name: string, s: SplitSpec): { path: string; format?: Format } => {
    if (s.path === undefined) {
      throw new DatasetError({ file: '', message: `dataset.${name} has no local path; download the split first (hub) and pass its file path` })
    }
    return { path: s.path, ...(s.format ? { format: s.format } : {}) }
  }
  const withSeed = (s: SplitSpec): SelectSpec => ({ ...s, seed: s.seed ?? seed })
  const trainAll = await loadDataset({ ...cols, ...fileOf('train', spec.train), ...(options.baseDir ? { baseDir: options.baseDir } : {}) })
  if (spec.eval === undefined) return { train: select(trainAll, withSeed(spec.train)) }
  if (spec.eval.ratio !== undefined) {
    const parts = splitByRatio(trainAll, spec.eval.ratio, spec.eval.seed ?? seed)
    return { train: select(parts.train, withSeed(spec.train)), eval: select(parts.eval, withSeed(spec.eval)) }
  }
  const evalAll = await loadDataset({
    ...cols,
    ...(trainAll.labelNames ? { labels: trainAll.labelNames } : {}),
    ...fileOf('eval', spec.eval),
    ...(options.baseDir ? { baseDir: options.baseDir } : {}),
  })
  return { train: select(trainAll, withSeed(spec.train)), eval: select(evalAll, withSeed(spec.eval)) }
}
