import { join, resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Fiber from 'effect/Fiber'
import * as Layer from 'effect/Layer'
import { BuiltinStages, defaultRunDir, formatDiagnostics, inspectRunFolder, loadPipeline, noteResume, readRunRecord, eventsLayer, jsonlFileSink, prepareRunDir, runPipeline, type EventSink, type RunRecord, type ValidatedPipeline } from '@lorapipe/core'
import { NotARegularFile } from '@lorapipe/core/fs/atomic.ts'
import { removeLeftovers } from '@lorapipe/core/run/leftovers.ts'
import { lockRunFolder, RunFolderBusy, runFolderOwner } from '@lorapipe/core/run/lock.ts'
import type { LockHandle } from '@lorapipe/core/fs/lock.ts'
import { checkStageCode, ResumeRefused, resumeSource } from '@lorapipe/core/run/resume.ts'
import { newRunRefusal } from '@lorapipe/core/run/folder.ts'
import { SweepStageHost } from '@lorapipe/core/sweep/host.ts'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { jsonSink } from '../output/json.ts'
import { plainSink } from '../output/plain.ts'
import { REPORT_FILE, writeReport } from '../report/write.ts'
import { wantsInk } from '../ui/select.ts'
import { runHelp } from './help.ts'
import { sweepStageHost } from './sweep-deps.ts'
import { load, reportInvalid, printWarnings } from './load.ts'
import { preflight } from '@lorapipe/runner/preflight/pipeline.ts'
import { builtinStages, stageBodies } from '@lorapipe/runner/stages/registry.ts'
import { makeFolder } from '@lorapipe/core/fs/make-folder.ts'
import { exitProcess, holdProcessWatch } from '@lorapipe/core/graph/process-watch.ts'
import { openTracking, type Tracking } from '@lorapipe/core/tracking/open.ts'
import { TrackerUnavailable } from '@lorapipe/core/tracking/tracker.ts'

/** Bad input found before anything runs: the message and the fix, exit 2. */
function refuse(message: string, hint?: string): number {
  process.stderr.write(`error: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`)
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

/** A run about to start: its pipeline, its folder, and the record of the run it continues, if it does. */
interface Opened {
  readonly p: ValidatedPipeline
  readonly runDir: string
  readonly resumed?: RunRecord
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, 'run')
  if (values.help) return (process.stdout.write(runHelp), EXIT.ok)
  const concurrency = concurrencyOf(values.concurrency)
  if (values.out === '') throw new UsageError('--out needs a folder path')
  const opened = values.resume !== undefined ? await openResumed(values.resume, values, positionals) : await openNew(values, positionals)
  if (typeof opened === 'number') return opened
  const taken = takeRunFolder(opened, values)
  if (typeof taken === 'number') return taken
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
async function openResumed(resume: string, values: Flags, positionals: readonly string[]): Promise<Opened | number> {
  if (resume === '') throw new UsageError('--resume needs the run folder')
  if (values.out !== undefined) throw new UsageError('--resume DIR already names the run folder; drop --out')
  if (positionals.length > 0) throw new UsageError(`--resume continues the run in ${resume} with the pipeline it was started with (its config.resolved.yaml), so it takes no pipeline file; drop ${positionals[0]}, or run that file anew with --out <new folder>`)
  if (values.set?.length) throw new UsageError(`a resumed run goes on with the settings it was started with (${join(resume, 'config.resolved.yaml')}); --set cannot change them. Start a new run with --out <new folder> to use other settings`)
  const runDir = resolve(resume)
  const rec = readRunRecord(runDir)
  if ('error' in rec) return refuse(rec.error)
  const owner = runFolderOwner(runDir)
  if (owner) return refuseBusy(new RunFolderBusy({ dir: runDir, holder: owner }))
  const changed = checkStageCode(runDir, rec)
  if (changed) return refuse(changed.message, changed.hint)
  const src = resumeSource(runDir, rec)
  if (src instanceof ResumeRefused) return refuse(src.message, src.hint)
  const r = await Effect.runPromise(Effect.either(loadPipeline(src.file, src.options)))
  if (r._tag === 'Left') {
    process.stderr.write(reportInvalid(r.left))
    return EXIT.badInput
  }
  // A `uses: sweep` stage continues its sweep only with the recipe it started with, or an accepted change.
  const sweeps = await (await import('@lorapipe/core/sweep/stage.ts')).resumeSweepStages(r.right, runDir, values['accept-changes'] === true)
  if (sweeps) return refuse(sweeps.message, sweeps.hint)
  return { p: r.right, runDir, resumed: rec }
}

/** A new run of a pipeline file: loaded, its folder free, and its inputs checked by the preflight. */
async function openNew(values: Flags, positionals: readonly string[]): Promise<Opened | number> {
  if (values['accept-changes']) throw new UsageError('--accept-changes applies to `lorapipe run --resume DIR` whose `uses: sweep` stage continues a sweep after its base pipeline or stage modules were edited')
  if (positionals.length !== 1) throw new UsageError(`expected one pipeline file, got ${positionals.length}\n\n${runHelp}`)
  const r = await load(positionals[0]!, values.set ?? [])
  if (!r.ok) {
    process.stderr.write(reportInvalid(r.error))
    return EXIT.badInput
  }
  const p = r.pipeline
  printWarnings(r.warnings, p.texts)
  const runDir = values.out ? resolve(values.out) : defaultRunDir(p)
  const refused = refuseRunFolder(runDir, values.out)
  if (refused !== undefined) return refused
  // Inputs that are local (or cached) are checked before the run folder exists: bad data is
  // bad input (exit 2), and nothing is written.
  const checked = await preflight(p)
  if (checked.diagnostics.length > 0) {
    process.stderr.write(`${formatDiagnostics(checked.diagnostics, p.texts)}\nnothing was run or written\n`)
    return EXIT.badInput
  }
  return { p, runDir }
}

/**
 * The run folder, made and locked for the whole run (a second run or resume in it is refused),
 * then readied: a resumed run's leftovers removed and the resume noted, a new run's files written,
 * and the experiment trackers of `trainer.report_to` opened.
 */
function takeRunFolder({ p, runDir, resumed }: Opened, values: Flags): { lock: LockHandle; tracking?: Tracking } | number {
  try {
    makeFolder(runDir)
  } catch (e) {
    return refuse(`cannot create the run folder ${runDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'choose a folder you can write to with --out')
  }
  const lock = lockRunFolder(runDir)
  if (lock instanceof RunFolderBusy) return refuseBusy(lock)
  try {
    if (resumed) {
      const removed = removeLeftovers(runDir)
      if (removed.length > 0 && !values.json && !values.quiet) process.stderr.write(`removed ${removed.length} temporary file${removed.length > 1 ? 's' : ''} left by the interrupted run\n`)
      // Before the resume is noted: a tracker that cannot go on refuses the resume itself.
      const tracking = openTracking(p, runDir)
      noteResume(runDir, resumed)
      return { lock, tracking }
    }
    // Checked again under the lock: another run may have started here since.
    const refused = refuseRunFolder(runDir, values.out, { locked: true })
    if (refused !== undefined) return (lock.release(), refused)
    prepareRunDir(p, runDir, values.set ?? [])
    return { lock, tracking: openTracking(p, runDir) }
  } catch (e) {
    lock.release()
    if (e instanceof TrackerUnavailable) return refuse(`${e.message}; nothing was run`, e.hint)
    if (e instanceof NotARegularFile) return refuse(e.message, e.hint)
    const err = e as NodeJS.ErrnoException
    if (err.code && err.path) return refuse(`cannot write the run folder ${runDir}: ${err.code} on ${err.path}`, 'choose a folder you can write to with --out')
    throw e
  }
}

const refuseBusy = (e: RunFolderBusy) => refuse(e.message, e.hint)

/** Exit 2 when `runDir` cannot take a new run: a run already, someone's files, a file, or in use. */
function refuseRunFolder(runDir: string, out: string | undefined, opts: { locked?: boolean } = {}): number | undefined {
  const state = inspectRunFolder(runDir)
  if (state.kind === 'absent') return undefined
  const owner = state.kind === 'not a folder' || opts.locked ? undefined : runFolderOwner(runDir)
  if (owner) return refuseBusy(new RunFolderBusy({ dir: runDir, holder: owner }))
  const taken = newRunRefusal(runDir, state, out ?? runDir)
  return taken && refuse(taken.message, taken.hint)
}

async function execute(p: ValidatedPipeline, runDir: string, resume: boolean, concurrency: number | undefined, values: Flags, tracking: Tracking | undefined): Promise<number> {
  const sinks: EventSink[] = [jsonlFileSink(join(runDir, 'events.jsonl'))]
  if (tracking) sinks.push(tracking.sink)
  // The Ink UI on a terminal (not CI, not --json or --quiet); plain lines otherwise.
  const ui = !values.json && !values.quiet && wantsInk(process.stdout, process.env) ? (await import('../ui/sink.tsx')).inkUi({ verbose: values.verbose, reportPath: join(runDir, REPORT_FILE) }) : undefined
  sinks.push(values.json ? jsonSink() : ui ? ui.sink : plainSink({ quiet: values.quiet, verbose: values.verbose }))
  // Each built-in stage's body (and TensorFlow.js with it) is loaded when the stage first runs.
  // A `uses: sweep` stage's trials are lorapipe runs, shown and reported as the command line does.
  const layer = Layer.mergeAll(eventsLayer(sinks), Layer.succeed(BuiltinStages, stageBodies(builtinStages)), Layer.succeed(SweepStageHost, sweepStageHost))
  // The executor refuses process.exit from stage code while the run lasts; the command keeps that
  // up until it ends the process itself, so a stage's leftover timer cannot end it in between.
  holdProcessWatch()
  const fiber = Effect.runFork(runPipeline(p, { runDir, concurrency, resume }).pipe(Effect.provide(layer)))

  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    signals++
    if (signals > 1) exitProcess(EXIT.interrupted)
    const msg = `${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping cleanly (press Ctrl-C again to exit at once)`
    if (ui) ui.notice(msg)
    else if (!values.json) process.stderr.write(`\n${msg}\n`)
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const exit = await Effect.runPromise(Fiber.await(fiber))
    if (Exit.isSuccess(exit)) return exit.value.status === 'succeeded' ? EXIT.ok : exit.value.status === 'interrupted' ? EXIT.interrupted : EXIT.failed
    return Exit.isInterrupted(exit) ? EXIT.interrupted : EXIT.failed
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // The report, from what the run folder holds now (also after a failure or an interruption).
    try {
      const file = writeReport(runDir)
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
