// Reads a run (or sweep) folder and writes its report (default `<run dir>/report.html`), atomically.
// A report carries lorapipe's generator tag; an existing file without it is someone else's and is
// replaced only when asked (--force). Folders, devices, FIFOs and sockets are never replaced
// (core's atomic writer refuses them).
import { closeSync, existsSync, openSync, readSync } from 'node:fs'
import { join, resolve } from 'node:path'
import * as Data from 'effect/Data'
import { writableTarget, writeFileAtomic } from '@lorapipe/core/fs/atomic.ts'
import { VERSION } from '@lorapipe/core/version.ts'
import { renderReport } from './html.ts'
import { readRun } from './run-data.ts'
import { isSweepDir, readSweep } from './sweep-data.ts'
import { renderSweepReport } from './sweep-html.ts'

export const REPORT_FILE = 'report.html'

/** The tag that marks a file as a report lorapipe wrote (in the page's head). */
export const REPORT_MARKER = '<meta name="generator" content="lorapipe report">'

/** The file at `--out` exists and is not a report lorapipe wrote. */
export class NotAReport extends Data.TaggedError('NotAReport')<{ readonly path: string }> {
  override get message(): string {
    return `${this.path} exists and is not a report written by lorapipe; it was left as it is`
  }
  get hint(): string {
    return 'choose another --out, or pass --force to replace that file'
  }
}

/** Whether the regular file at `path` starts like a report lorapipe wrote (the marker is in its head). */
export function isLorapipeReport(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(4096)
    const n = readSync(fd, buf, 0, buf.length, 0)
    return buf.subarray(0, n).toString('utf8').includes(REPORT_MARKER)
  } finally {
    closeSync(fd)
  }
}

function withMarker(html: string): string {
  const at = html.indexOf('<head>')
  if (at < 0) throw new Error('the report page has no <head> to tag')
  return html.slice(0, at + 6) + REPORT_MARKER + html.slice(at + 6)
}

/**
 * Writes the report and returns its path. Throws `ReportError` for a folder that is not a run,
 * NotARegularFile when `out` is a folder or a device, NotAReport for someone else's file (unless `force`).
 */
export function writeReport(runDir: string, out?: string, opts: { force?: boolean } = {}): string {
  const dir = resolve(runDir)
  const file = writableTarget(out ? resolve(out) : join(dir, REPORT_FILE))
  if (!opts.force && existsSync(file) && !isLorapipeReport(file)) throw new NotAReport({ path: file })
  const meta = { version: VERSION, generatedAt: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') }
  // A sweep folder gets the sweep report (leaderboard, parameter charts, links to the trials').
  const html = isSweepDir(dir) ? renderSweepReport(readSweep(dir), meta) : renderReport(readRun(dir), meta)
  writeFileAtomic(file, withMarker(html))
  return file
}

/** The sweep's report.html (the same writer: `writeReport` knows a sweep folder by its events). */
export const writeSweepReport = (sweepDir: string, out?: string, opts: { force?: boolean } = {}): string => writeReport(sweepDir, out, opts)
