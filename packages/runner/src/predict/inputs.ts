// Texts to classify from a file: .txt (one per line), .tsv / .csv (a header with a `text` or
// `sentence` column, or the one named), .jsonl (objects with that key).
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

export function readInputs(file: string, textColumn?: string): string[] {
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
    })
    return out
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
    // Simple split: quoted CSV with separators inside quotes is read by the dataset loader, not here.
    return lines.slice(1).filter((l) => l.trim() !== '').map((l) => l.split(sep)[idx] ?? '')
  }
  return lines.filter((l) => l.trim() !== '')
}
