// A diagnostic is one problem in a pipeline, with enough data to point at it and explain the fix.
// All problems of a file are collected as diagnostics and reported together.
import * as Data from 'effect/Data'
import { escapeControl } from './text/control-chars.ts'

/** A place in an input: a file (or a `--set` argument) and a 1-based line and column. */
export interface Location {
  readonly file: string
  readonly line: number
  readonly column: number
}

export interface Diagnostic {
  /** Where the problem is; absent when nothing in the input can be pointed at. */
  readonly location?: Location
  /** JSON pointer into the resolved pipeline (e.g. `/trainer/learning_rate`), when it applies. */
  readonly pointer?: string
  readonly message: string
  /** How to fix it, e.g. "did you mean `learning_rate`?" */
  readonly hint?: string
  /** A warning is printed as `warning:` and never changes the exit code; absent: an error. */
  readonly severity?: 'error' | 'warning'
}

/** The pipeline (or a file it extends) is invalid; every diagnostic found is listed. */
export class PipelineInvalid extends Data.TaggedError('PipelineInvalid')<{
  readonly file: string
  readonly diagnostics: readonly Diagnostic[]
}> {
  override get message(): string {
    return formatDiagnostics(this.diagnostics)
  }
}

/** `/trainer/learning_rate` -> `trainer.learning_rate`; `/lora/target_modules/0` -> `lora.target_modules[0]`. */
export function pointerToPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '(root)'
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '')
}

export function pathToPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('')
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return []
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

export function formatLocation(loc: Location): string {
  return loc.line > 0 ? `${loc.file}:${loc.line}:${loc.column}` : loc.file
}

/** Source text of files, so diagnostics can show the offending line. */
export type SourceTexts = ReadonlyMap<string, string>

export function formatDiagnostic(d: Diagnostic, sources?: SourceTexts, lines?: (file: string) => readonly string[] | undefined): string {
  const where = d.location ? formatLocation(d.location) : '(pipeline)'
  const at = d.pointer !== undefined && d.pointer !== '' ? ` (at ${pointerToPath(d.pointer)})` : ''
  // Messages quote input (keys, values, file names): its control characters are shown, not obeyed.
  const out = [escapeControl(`${where}: ${d.severity === 'warning' ? 'warning' : 'error'}: ${d.message}${at}`)]
  if (d.hint) out.push(`  hint: ${escapeControl(d.hint)}`)
  const file = d.location && (lines ? lines(d.location.file) : sources?.get(d.location.file)?.split(/\r?\n/))
  if (file && d.location && d.location.line > 0) {
    const src = file[d.location.line - 1]
    if (src !== undefined) {
      const num = String(d.location.line)
      out.push(`  ${num} | ${escapeControl(src)}`)
      out.push(`  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, d.location.column - 1))}^`)
    }
  }
  return out.join('\n')
}

/** At most this many diagnostics are written out; the count says how many there are in all. */
export const MAX_SHOWN_DIAGNOSTICS = 100

export function formatDiagnostics(ds: readonly Diagnostic[], sources?: SourceTexts): string {
  // Each file is split into lines once, however many diagnostics point into it.
  const split = new Map<string, readonly string[] | undefined>()
  const lines = (file: string) => {
    if (!split.has(file)) split.set(file, sources?.get(file)?.split(/\r?\n/))
    return split.get(file)
  }
  const shown = ds.slice(0, MAX_SHOWN_DIAGNOSTICS).map((d) => formatDiagnostic(d, sources, lines))
  if (ds.length > shown.length) shown.push(`... and ${ds.length - shown.length} more`)
  return `${shown.join('\n')}\n${ds.length} error${ds.length === 1 ? '' : 's'}`
}

/** Warnings, each as an error is shown (place, hint, code frame), with no count: they do not fail anything. */
export function formatWarnings(ds: readonly Diagnostic[], sources?: SourceTexts): string {
  return ds.map((d) => formatDiagnostic({ ...d, severity: 'warning' }, sources) + '\n').join('')
}

/** Diagnostics in reading order: by file, line, column. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => {
    const la = a.location
    const lb = b.location
    if (!la || !lb) return la ? -1 : lb ? 1 : 0
    return la.file.localeCompare(lb.file) || la.line - lb.line || la.column - lb.column
  })
}
