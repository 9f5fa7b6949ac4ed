// Resolves a dataset path (a file, or a `*` glob in the file name) to the files to read, and the
// format of each from its extension.
import { existsSync, readdirSync } from 'node:fs'
import { FILE_KINDS, userFileProblem, type FileKind } from '@lorapipe/core/fs/user-file.ts'
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path'
import { closest } from '@lorapipe/core/suggest.ts'
import { datasetError } from './errors.ts'
import type { Format } from './table.ts'

const EXTENSIONS: Record<string, Format> = { '.tsv': 'tsv', '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.parquet': 'parquet' }

export function inferFormat(file: string): Format {
  const f = EXTENSIONS[extname(file).toLowerCase()]
  if (f === undefined) {
    throw datasetError(file, undefined, `cannot tell the format from the extension ${JSON.stringify(extname(file))}; name the file .tsv, .csv, .jsonl or .parquet, or set format`)
  }
  return f
}

/** The guarded reader's kind for a data file: Parquet is read into one buffer, the others into one string. */
export function dataKind(file: string): FileKind {
  return EXTENSIONS[extname(file).toLowerCase()] === 'parquet' ? FILE_KINDS.parquet : FILE_KINDS.textData
}

/** Files named by `path` (relative to baseDir), sorted by name when it is a glob. */
export function resolveFiles(path: string, baseDir = process.cwd()): string[] {
  const full = isAbsolute(path) ? path : resolve(baseDir, path)
  const dir = dirname(full)
  const name = basename(full)
  if (dir.includes('*')) throw datasetError(full, undefined, 'a `*` is only supported in the file name, not in directory names')
  if (!name.includes('*')) {
    // Each file is read through the guarded reader; a folder, a FIFO or a device is said as such here.
    const unreadable = userFileProblem(full, dataKind(full))
    if (unreadable === undefined) return [full]
    if (unreadable.problem !== 'not found' || unreadable.target !== undefined) throw datasetError(full, undefined, unreadable.reason)
    let hint = ''
    if (existsSync(dir)) {
      const near = closest(name, readdirSync(dir))
      if (near) hint = `; did you mean ${JSON.stringify(join(dir, near))}?`
    } else hint = `; the folder ${dir} does not exist either`
    throw datasetError(full, undefined, `file not found${hint}`)
  }
  if (!existsSync(dir)) throw datasetError(full, undefined, `the folder ${dir} does not exist`)
  const re = new RegExp('^' + name.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$')
  const matches = readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => join(dir, f))
    // Folders that match are passed over; anything else that is not a regular file is refused when read.
    .filter((f) => userFileProblem(f, dataKind(f))?.problem !== 'folder')
  if (matches.length === 0) throw datasetError(full, undefined, `no file in ${dir} matches ${JSON.stringify(name)}`)
  return matches
}
