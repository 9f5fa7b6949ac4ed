// The rows `lorapipe score` reads: JSON lines (or Parquet), each row one of
// - `text`: scored on every token, EOS appended (as TRL prepares text rows);
// - `messages`: a conversation rendered with the chat template, scored on its last (assistant) message;
// - `prompt` + `completion`: scored on the completion (TRL's completion-only loss);
// - `input_ids` (token ids), with optional `labels` (-100 where no loss is taken; default: the ids,
//   as transformers' labels=input_ids) and optional `attention_mask` (0 on padding).
// Text rows are checked here as SFT data is (same messages, the line named); token rows are
// checked for shape here and against the model's vocabulary by the scorer.
import { extname } from 'node:path'
import * as Data from 'effect/Data'
import { DatasetError } from '../data/errors.ts'
import { readTable } from '../data/read.ts'
import { DEFAULT_SFT_COLUMNS, sftRowsFromTable, type RowOrigin, type SftKind, type SftRow } from '../data/sft/rows.ts'

/** A row that cannot be scored: names the file and the line (or Parquet row). */
export class ScoreInputError extends Data.TaggedError('ScoreInputError')<{ readonly file: string; readonly line?: number; readonly unit?: 'line' | 'row'; readonly reason: string }> {
  override get message() {
    const where = this.line === undefined ? this.file : this.unit === 'row' ? `${this.file} (row ${this.line})` : `${this.file}:${this.line}`
    return `${where}: ${this.reason}`
  }
}

/** Token ids given as such. */
export interface TokenRow {
  readonly kind: 'tokens'
  readonly origin: RowOrigin
  readonly inputIds: Int32Array
  /** Not shifted (the loss shifts); null: the ids themselves. */
  readonly labels: Int32Array | null
  /** null: every position is a token. */
  readonly attentionMask: Int32Array | null
}

/** A row of text, tokenized by the model's tokenizer as SFT data is. */
export interface TextRow {
  readonly kind: 'text'
  readonly origin: RowOrigin
  readonly row: SftRow
}

export type ScoreRow = TokenRow | TextRow

export function rowInputError(origin: RowOrigin, reason: string): ScoreInputError {
  return new ScoreInputError({ file: origin.file, line: origin.where, unit: origin.unit, reason })
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/** A list of integers (a Parquet list may arrive as a typed array or with bigints). */
function intList(v: unknown, origin: RowOrigin, key: string, check: (n: number) => string | undefined): Int32Array {
  const list = ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number | bigint>) : v
  if (!Array.isArray(list)) throw rowInputError(origin, `"${key}" must be a list of integers, got ${describe(v)}`)
  const out = new Int32Array(list.length)
  list.forEach((x, i) => {
    const n = typeof x === 'bigint' ? Number(x) : x
    if (typeof n !== 'number' || !Number.isInteger(n)) throw rowInputError(origin, `"${key}"[${i}] must be an integer, got ${JSON.stringify(typeof x === 'bigint' ? String(x) : x)}`)
    const problem = check(n)
    if (problem) throw rowInputError(origin, `"${key}"[${i}] is ${n}: ${problem}`)
    out[i] = n
  })
  return out
}

function tokenRow(row: Record<string, unknown>, origin: RowOrigin): TokenRow {
  const inputIds = intList(row.input_ids, origin, 'input_ids', (n) => (n < 0 ? 'token ids are not negative' : undefined))
  if (inputIds.length === 0) throw rowInputError(origin, '"input_ids" is empty: there is nothing to score')
  const sameLength = (key: string, a: Int32Array) => {
    if (a.length !== inputIds.length) throw rowInputError(origin, `"${key}" has ${a.length} values but "input_ids" has ${inputIds.length}; give one per token`)
    return a
  }
  const present = (k: string) => row[k] !== undefined && row[k] !== null
  const labels = present('labels')
    ? sameLength('labels', intList(row.labels, origin, 'labels', (n) => (n < 0 && n !== -100 ? 'a label is a token id, or -100 where no loss is taken' : undefined)))
    : null
  const attentionMask = present('attention_mask')
    ? sameLength('attention_mask', intList(row.attention_mask, origin, 'attention_mask', (n) => (n !== 0 && n !== 1 ? 'the attention mask is 1 on tokens and 0 on padding' : undefined)))
    : null
  if (attentionMask && !attentionMask.includes(1)) throw rowInputError(origin, '"attention_mask" is 0 everywhere: the row has no token')
  return { kind: 'tokens', origin, inputIds, labels, attentionMask }
}

const KINDS: Array<[SftKind, string[]]> = [
  ['messages', [DEFAULT_SFT_COLUMNS.messagesColumn]],
  ['prompt-completion', [DEFAULT_SFT_COLUMNS.promptColumn, DEFAULT_SFT_COLUMNS.completionColumn]],
  ['text', [DEFAULT_SFT_COLUMNS.textColumn]],
]

/** A DatasetError's words without the `file:line: ` it starts with (datasetError's prefix). */
function withoutPlace(e: DatasetError): string {
  for (const p of [`${e.file}:${e.line}: `, `${e.file} (row ${e.line}): `, `${e.file}: `]) if (e.message.startsWith(p)) return e.message.slice(p.length)
  return e.message
}

/** One row of any kind, checked; its kind from the keys it has. */
export function scoreRow(row: Record<string, unknown>, origin: RowOrigin): ScoreRow {
  const present = (k: string) => row[k] !== undefined && row[k] !== null
  if (present('input_ids')) return tokenRow(row, origin)
  const kind = KINDS.find(([, keys]) => keys.every(present))?.[0]
  if (kind === undefined) {
    const half = present('prompt') ? ' ("prompt" needs "completion")' : present('completion') ? ' ("completion" needs "prompt")' : ''
    throw rowInputError(
      origin,
      `nothing to score${half}: a row has "text", "messages" (a chat), "prompt" and "completion", or "input_ids" (with optional "labels"); its keys: ${Object.keys(row).join(', ') || '(none)'}`,
    )
  }
  try {
    const [sft] = sftRowsFromTable({ file: origin.file, columns: Object.keys(row), rows: [row], where: [origin.where], unit: origin.unit }, kind)
    return { kind: 'text', origin, row: sft! }
  } catch (e) {
    // The SFT checks name the row already: keep their words, as this command's error.
    if (e instanceof DatasetError) throw new ScoreInputError({ file: origin.file, reason: withoutPlace(e), line: origin.where, unit: origin.unit })
    throw e
  }
}

/** Reads and checks every row of `file` (JSON lines; Parquet by its extension). */
export async function readScoreRows(file: string): Promise<ScoreRow[]> {
  let table
  try {
    table = await readTable(file, extname(file).toLowerCase() === '.parquet' ? 'parquet' : 'jsonl')
  } catch (e) {
    if (e instanceof DatasetError) throw new ScoreInputError({ file, ...(e.line !== undefined ? { line: e.line, unit: extname(file).toLowerCase() === '.parquet' ? 'row' : 'line' } : {}), reason: withoutPlace(e) })
    throw e
  }
  if (table.rows.length === 0) throw new ScoreInputError({ file, reason: 'no rows: give one JSON object per line, e.g. {"text": "..."}' })
  return table.rows.map((row, i) => scoreRow(row, { file, where: table.where[i]!, unit: table.unit }))
}
