// What core's sweeps need from the command line and get from here: the lorapipe launcher that
// runs each trial, the checks `run` makes of a trial's files before it writes anything (the
// preflight), the sweep report, and how a `uses: sweep` stage shows its sweep in the run's log.
import { existsSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ValidatedPipeline } from '@lorapipe/core/pipeline/types.ts'
import { storageFailure } from '@lorapipe/core/sweep/coordinator/unwritable.ts'
import type { SweepStageDeps } from '@lorapipe/core/sweep/host.ts'
import { preflight } from '@lorapipe/runner/preflight/pipeline.ts'
import { sweepStageSink } from '../output/sweep-plain.ts'

/**
 * The lorapipe script: the one this process runs when it is lorapipe; else (lorapipe used as a
 * library) the package's launcher: bin/ beside dist/ when bundled (also when installed), the
 * checkout's launcher from the sources.
 */
export function lorapipeEntry(): string {
  const argv1 = process.argv[1]
  if (argv1 && /lorapipe(\.m?js)?$/.test(basename(argv1))) return resolve(argv1)
  const beside = fileURLToPath(new URL('../bin/lorapipe.js', import.meta.url))
  if (existsSync(beside)) return beside
  return fileURLToPath(new URL('../../../lorapipe/bin/lorapipe.js', import.meta.url))
}

/** The preflight's problems with a trial's pipeline: the checks its `lorapipe run` would make before writing anything. */
export const checkTrialFiles = async (p: ValidatedPipeline) => (await preflight(p)).diagnostics

/**
 * The sweep's report.html, written by the report module when this installation has it. A failure
 * to write it for want of room (or permission) is thrown, for the caller to say what is saved;
 * any other failure is a warning.
 */
export async function writeSweepReportIfAvailable(dir: string): Promise<string | undefined> {
  try {
    const m = (await import('../report/write.ts')) as { writeSweepReport?: (dir: string) => string }
    return m.writeSweepReport?.(dir)
  } catch (e) {
    if (storageFailure(e)) throw e
    process.stderr.write(`warning: could not write the sweep report: ${(e as Error).message}\n`)
    return undefined
  }
}

/** What a `uses: sweep` stage of `lorapipe run` gets (core's SweepStageHost). */
export const sweepStageHost: SweepStageDeps = { entry: lorapipeEntry(), checkFiles: checkTrialFiles, progress: sweepStageSink, writeReport: writeSweepReportIfAvailable }
