// Texts to classify from a file: .txt (one per line), .tsv / .csv (a header with a `text` or
// `sentence` column, or the one named), .jsonl (objects with that key). A table or JSON lines file
// may also hold the true labels (a `label` column, or the one named): predict then scores itself.
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { extname } from 'node:path'
import * as Data from 'effect/Data'
import { closest } from '@lorapipe/core/suggest.ts'

export class PredictInputError extends Data.TaggedError('PredictInputError')<{ readonly file: string; readonly line?: number; readonly reason: string }> {
  override get message() {
    return `${this.file}${this.line ? `:${this.line}` : ''}: ${this.reason}`
  }
}

const TEXT_COLUMNS = ['text', 'sentence', 'review', 'content']
const LABEL_COLUMN = 'label'

/** The texts, and their true labels (raw, with the line each is on) when the file has them. */
export interface PredictInputs {
  readonly texts: string[]
  readonly labels?: { readonly column: string; readonly values: unknown[]; readonly lines: number[] }
}

export function readInputs(file: string, textColumn?: string, labelColumn?: string): PredictInputs {
  let raw: string
  try {
    raw = readUserText(file, FILE_KINDS.textData)
  } catch (e) {
    if (!(e instanceof UserFileError)) throw e
    throw new PredictInputError({ file, reason: e.problem === 'not found' && e.target === undefined ? 'file not found' : e.reason })
  }
  const ext = extname(file).toLowerCase()
  const lines = raw.split(/\r?\n/)
  if (ext === '.jsonl' || ext === '.ndjson') {
    const out: string[] = []
    const labels = { column: labelColumn ?? LABEL_COLUMN, values: [] as unknown[], lines: [] as number[] }
    lines.forEach((l, i) => {
      if (l.trim() === '') return
      let o: unknown
      try {
        o = JSON.parse(l)
      } catch {
        throw new PredictInputError({ file, line: i + 1, reason: 'not valid JSON' })
      }
      const rec = o as Record<string, unknown>
      const key = textColumn ?? TEXT_COLUMNS.find((k) => typeof rec[k] === 'string')
      if (!key || typeof rec[key] !== 'string')
        throw new PredictInputError({ file, line: i + 1, reason: `no text field ${textColumn ? `\`${textColumn}\`` : `(looked for ${TEXT_COLUMNS.join(', ')})`}; use --text-column` })
      out.push(rec[key] as string)
      if (rec[labels.column] !== undefined) labels.values.push(rec[labels.column]), labels.lines.push(i + 1)
      else if (labels.values.length > 0 || labelColumn) throw new PredictInputError({ file, line: i + 1, reason: `no label field \`${labels.column}\` (the lines before have one: label every line or none)` })
    })
    return labels.values.length > 0 ? { texts: out, labels } : { texts: out }
  }
  if (ext === '.tsv' || ext === '.csv') {
    const sep = ext === '.tsv' ? '\t' : ','
    const header = (lines[0] ?? '').split(sep).map((h) => h.trim())
    const col = textColumn ?? TEXT_COLUMNS.find((c) => header.includes(c))
    const idx = col === undefined ? -1 : header.indexOf(col)
    if (idx < 0) {
      const hint = textColumn ? closest(textColumn, header) : undefined
      throw new PredictInputError({ file, line: 1, reason: `no text column ${textColumn ? `\`${textColumn}\`` : `(looked for ${TEXT_COLUMNS.join(', ')})`} in the header (${header.join(', ')})${hint ? `; did you mean \`${hint}\`?` : '; use --text-column'}` })
    }
    const labelIdx = header.indexOf(labelColumn ?? LABEL_COLUMN)
    if (labelColumn && labelIdx < 0) throw new PredictInputError({ file, line: 1, reason: `no label column \`${labelColumn}\` in the header (${header.join(', ')})` })
    // Simple split: quoted CSV with separators inside quotes is read by the dataset loader, not here.
    const rows = lines.map((l, i) => ({ cells: l.split(sep), line: i + 1 })).slice(1).filter((r) => r.cells.join('').trim() !== '')
    const texts = rows.map((r) => r.cells[idx] ?? '')
    if (labelIdx < 0) return { texts }
    return { texts, labels: { column: header[labelIdx]!, values: rows.map((r) => r.cells[labelIdx]?.trim() ?? ''), lines: rows.map((r) => r.line) } }
  }
  if (labelColumn) throw new PredictInputError({ file, reason: `--label-column needs a .tsv, .csv or .jsonl file; a ${ext || 'plain'} file holds texts only` })
  return { texts: lines.filter((l) => l.trim() !== '') }
}
