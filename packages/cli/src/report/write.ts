// Reads a run folder and writes its report (default `<run dir>/report.html`), atomically.
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '@lorapipe/core'
import { VERSION } from '../commands/help.ts'
import { renderReport } from './html.ts'
import { readRun } from './run-data.ts'

export const REPORT_FILE = 'report.html'

/** Writes the report and returns its path. Throws `ReportError` for a folder that is not a run. */
export function writeReport(runDir: string, out?: string): string {
  const dir = resolve(runDir)
  const file = out ? resolve(out) : join(dir, REPORT_FILE)
  writeFileAtomic(file, renderReport(readRun(dir), { version: VERSION, generatedAt: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') }))
  return file
}
