// TSV and CSV readers. TSV follows GLUE's files (and pandas' reading of them with quoting off):
// fields are split on tabs, quotes are ordinary characters. CSV follows RFC 4180: fields in double
// quotes may hold commas, quotes written as "" and line breaks. Both take the first record as the
// header, accept LF or CRLF and skip blank lines.
import { datasetError } from './errors.ts'
import type { RawTable } from './table.ts'

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

function checkHeader(file: string, header: string[]): void {
  const seen = new Set<string>()
  for (const h of header) {
    if (seen.has(h)) throw datasetError(file, 1, `the header names column ${JSON.stringify(h)} twice; column names must be unique`)
    seen.add(h)
  }
}

function toRecord(file: string, line: number, header: string[], fields: string[]): Record<string, unknown> {
  if (fields.length !== header.length) {
    throw datasetError(
      file,
      line,
      `this row has ${fields.length} field${fields.length === 1 ? '' : 's'} but the header has ${header.length} (${header.join(', ')}); check for a missing or extra separator`,
    )
  }
  const rec: Record<string, unknown> = {}
  for (let i = 0; i < header.length; i++) rec[header[i]!] = fields[i]
  return rec
}

export function readTsv(file: string, text: string): RawTable {
  const lines = stripBom(text).split('\n')
  let header: string[] | undefined
  const rows: Record<string, unknown>[] = []
  const where: number[] = []
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!
    if (line.endsWith('\r')) line = line.slice(0, -1)
    if (line === '') continue
    const fields = line.split('\t')
    if (header === undefined) {
      header = fields
      checkHeader(file, header)
      continue
    }
    rows.push(toRecord(file, i + 1, header, fields))
    where.push(i + 1)
  }
  if (header === undefined) throw datasetError(file, undefined, 'the file is empty; expected a header line with tab-separated column names')
  return { file, columns: header, rows, where, unit: 'line' }
}

/** Splits RFC 4180 CSV into records, each with the 1-based line it starts on. */
export function parseCsvRecords(file: string, text: string, delimiter = ','): { fields: string[]; line: number }[] {
  const out: { fields: string[]; line: number }[] = []
  const n = text.length
  let i = 0
  let line = 1
  while (i < n) {
    const start = line
    const fields: string[] = []
    // One record.
    for (;;) {
      let value = ''
      if (text[i] === '"') {
        const quoteLine = line
        i++
        for (;;) {
          const q = text.indexOf('"', i)
          if (q < 0) {
            throw datasetError(file, quoteLine, 'unterminated quoted field: a field opens with " but no closing " follows; double any quote inside a quoted field ("")')
          }
          const chunk = text.slice(i, q)
          for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++
          value += chunk
          if (text[q + 1] === '"') {
            value += '"'
            i = q + 2
          } else {
            i = q + 1
            break
          }
        }
        const c = text[i]
        if (i < n && c !== delimiter && c !== '\n' && c !== '\r') {
          throw datasetError(file, line, `unexpected ${JSON.stringify(c)} after a closing quote; a quoted field must end at a ${JSON.stringify(delimiter)} or the end of the line`)
        }
      } else {
        let j = i
        while (j < n) {
          const c = text[j]
          if (c === delimiter || c === '\n' || c === '\r') break
          j++
        }
        value = text.slice(i, j)
        i = j
      }
      fields.push(value)
      if (i >= n) break
      if (text[i] === delimiter) {
        i++
        continue
      }
      // End of record: \n or \r\n (a lone \r is taken as a line break too).
      if (text[i] === '\r') i++
      if (text[i] === '\n') i++
      line++
      break
    }
    // A blank line is one empty field; skip it.
    if (!(fields.length === 1 && fields[0] === '')) out.push({ fields, line: start })
  }
  return out
}

export function readCsv(file: string, text: string): RawTable {
  const records = parseCsvRecords(file, stripBom(text))
  const first = records[0]
  if (first === undefined) throw datasetError(file, undefined, 'the file is empty; expected a header line with comma-separated column names')
  const header = first.fields
  checkHeader(file, header)
  const rows: Record<string, unknown>[] = []
  const where: number[] = []
  for (let r = 1; r < records.length; r++) {
    const rec = records[r]!
    rows.push(toRecord(file, rec.line, header, rec.fields))
    where.push(rec.line)
  }
  return { file, columns: header, rows, where, unit: 'line' }
}
