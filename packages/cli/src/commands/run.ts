import { join, resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import { loadPipeline, readRunRecord, type EventSink, type ValidatedPipeline } from '@lorapipe/core'
import { checkStageCode, ResumeRefused, resumeSource } from '@lorapipe/core/run/resume.ts'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { jsonSink } from '../output/json.ts'
import { plainSink } from '../output/plain.ts'
import { REPORT_FILE } from '../report/write.ts'
import { wantsInk } from '../ui/select.ts'
import { runHelp } from './help.ts'
import { load, printWarnings, reportInvalid } from './load.ts'
import { openNewRun, refuseBusyRunFolder, RunRefused, startRun, takeRunFolder, writeRunReport, type OpenedRun } from '../run/session.ts'
import { exitProcess, holdProcessWatch } from '@lorapipe/core/graph/process-watch.ts'
import type { Tracking } from '@lorapipe/core/tracking/open.ts'

/** Bad input found before anything runs: the message and the fix, exit 2. */
function refuse(r: RunRefused): number {
  process.stderr.write(r.text)
  return EXIT.badInput
}

const OPTIONS = {
  set: { type: 'string', multiple: true },
  out: { type: 'string' },
  resume: { type: 'string' },
  concurrency: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean' },
  'accept-changes': { type: 'boolean' },
} as const

type Flags = ReturnType<typeof parse<typeof OPTIONS>>['values']

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, 'run')
  if (values.help) return (process.stdout.write(runHelp), EXIT.ok)
  const concurrency = concurrencyOf(values.concurrency)
  if (values.out === '') throw new UsageError('--out needs a folder path')
  const opened = values.resume !== undefined ? await openResumed(values.resume, values, positionals) : await openNew(values, positionals)
  if (typeof opened === 'number') return opened
  if (opened instanceof RunRefused) return refuse(opened)
  const taken = takeRunFolder(opened, { out: values.out, sets: values.set ?? [], note: (m) => !values.json && !values.quiet && process.stderr.write(`${m}\n`) })
  if (taken instanceof RunRefused) return refuse(taken)
  try {
    return await execute(opened.p, opened.runDir, opened.resumed !== undefined, concurrency, values, taken.tracking)
  } finally {
    taken.lock.release()
  }
}

function concurrencyOf(flag: string | undefined): number | undefined {
  if (flag === undefined) return undefined
  const n = Number(flag)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency must be a whole number >= 1, not ${flag}`)
  return n
}

/**
 * `--resume DIR` continues the run that was started in DIR, as it was started: its own
 * config.resolved.yaml and the stage code it recorded, whatever the pipeline file says now.
 */
async function openResumed(resume: string, values: Flags, positionals: readonly string[]): Promise<OpenedRun | RunRefused | number> {
  if (resume === '') throw new UsageError('--resume needs the run folder')
  if (values.out !== undefined) throw new UsageError('--resume DIR already names the run folder; drop --out')
  if (positionals.length > 0) throw new UsageError(`--resume continues the run in ${resume} with the pipeline it was started with (its config.resolved.yaml), so it takes no pipeline file; drop ${positionals[0]}, or run that file anew with --out <new folder>`)
  if (values.set?.length) throw new UsageError(`a resumed run goes on with the settings it was started with (${join(resume, 'config.resolved.yaml')}); --set cannot change them. Start a new run with --out <new folder> to use other settings`)
  const runDir = resolve(resume)
  const rec = readRunRecord(runDir)
  if ('error' in rec) return new RunRefused({ message: rec.error })
  const owner = refuseBusyRunFolder(runDir)
  if (owner) return owner
  const changed = checkStageCode(runDir, rec)
  if (changed) return new RunRefused({ message: changed.message, ...(changed.hint ? { hint: changed.hint } : {}) })
  const src = resumeSource(runDir, rec)
  if (src instanceof ResumeRefused) return new RunRefused({ message: src.message, ...(src.hint ? { hint: src.hint } : {}) })
  const r = await Effect.runPromise(Effect.either(loadPipeline(src.file, src.options)))
  if (r._tag === 'Left') {
    process.stderr.write(reportInvalid(r.left))
    return EXIT.badInput
  }
  // A `uses: sweep` stage continues its sweep only with the recipe it started with, or an accepted change.
  const sweeps = await (await import('@lorapipe/core/sweep/stage.ts')).resumeSweepStages(r.right, runDir, values['accept-changes'] === true)
  if (sweeps) return new RunRefused({ message: sweeps.message, ...(sweeps.hint ? { hint: sweeps.hint } : {}) })
  return { p: r.right, runDir, resumed: rec }
}

/** A new run of a pipeline file: loaded, its folder free, and its inputs checked by the preflight. */
async function openNew(values: Flags, positionals: readonly string[]): Promise<OpenedRun | RunRefused | number> {
  if (values['accept-changes']) throw new UsageError('--accept-changes applies to `lorapipe run --resume DIR` whose `uses: sweep` stage continues a sweep after its base pipeline or stage modules were edited')
  if (positionals.length !== 1) throw new UsageError(`expected one pipeline file, got ${positionals.length}\n\n${runHelp}`)
  const r = await load(positionals[0]!, values.set ?? [])
  if (!r.ok) {
    process.stderr.write(reportInvalid(r.error))
    return EXIT.badInput
  }
  printWarnings(r.warnings, r.pipeline.texts)
  return openNewRun(r.pipeline, { out: values.out })
}

async function execute(p: ValidatedPipeline, runDir: string, resume: boolean, concurrency: number | undefined, values: Flags, tracking: Tracking | undefined): Promise<number> {
  // The Ink UI on a terminal (not CI, not --json or --quiet); plain lines otherwise.
  const ui = !values.json && !values.quiet && wantsInk(process.stdout, process.env) ? (await import('../ui/sink.tsx')).inkUi({ verbose: values.verbose, reportPath: join(runDir, REPORT_FILE) }) : undefined
  const sink: EventSink = values.json ? jsonSink() : ui ? ui.sink : plainSink({ quiet: values.quiet, verbose: values.verbose })
  // The executor refuses process.exit from stage code while the run lasts; the command keeps that
  // up until it ends the process itself, so a stage's leftover timer cannot end it in between.
  holdProcessWatch()
  const run = startRun(p, runDir, { resume, concurrency, sinks: [sink], tracking })

  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    signals++
    if (signals > 1) exitProcess(EXIT.interrupted)
    const msg = `${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping cleanly (press Ctrl-C again to exit at once)`
    if (ui) ui.notice(msg)
    else if (!values.json) process.stderr.write(`\n${msg}\n`)
    run.interrupt()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const { status } = await run.done
    return status === 'succeeded' ? EXIT.ok : status === 'interrupted' ? EXIT.interrupted : EXIT.failed
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // The report, from what the run folder holds now (also after a failure or an interruption).
    try {
      const file = writeRunReport(runDir)
      if (!ui && !values.json && !values.quiet) process.stdout.write(`report: ${file}\n`)
    } catch (e) {
      const msg = `could not write the report: ${(e as Error).message}`
      if (ui) ui.notice(msg)
      else process.stderr.write(`warning: ${msg}\n`)
    }
    for (const msg of tracking?.problems() ?? []) {
      if (ui) ui.notice(msg)
      else process.stderr.write(`warning: ${msg}\n`)
    }
    await ui?.close()
  }
}
