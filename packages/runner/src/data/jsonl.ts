// JSON Lines reader: one JSON object per line, blank lines skipped.
import { datasetError } from './errors.ts'
import type { RawTable } from './table.ts'

export function readJsonl(file: string, text: string): RawTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  const lines = text.split('\n')
  const rows: Record<string, unknown>[] = []
  const where: number[] = []
  let columns: string[] | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (e) {
      throw datasetError(file, i + 1, `malformed JSON: ${(e as Error).message}; each line must hold one complete JSON object`)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
      throw datasetError(file, i + 1, `expected a JSON object like {"text": ..., "label": ...}, got ${kind}`)
    }
    columns ??= Object.keys(value)
    rows.push(value as Record<string, unknown>)
    where.push(i + 1)
  }
  return { file, columns: columns ?? [], rows, where, unit: 'line' }
}
