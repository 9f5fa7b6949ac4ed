// Starting a pipeline run, for `lorapipe run` and for the programmatic API (packages/lorapipe):
// the run folder checked (new or empty, not another process's), the inputs checked by the
// preflight, the folder made, locked and readied (the experiment trackers of `trainer.report_to`
// opened), then the executor started with the built-in stages, what a `uses: sweep` stage needs
// and the caller's event sinks, and the run's report written at the end. Refusals are
// values (RunRefused: exit 2 for the command, a rejected promise for the API), never output.
import { join, resolve } from 'node:path'
import * as Data from 'effect/Data'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Fiber from 'effect/Fiber'
import * as Layer from 'effect/Layer'
import { BuiltinStages, defaultRunDir, eventsLayer, formatDiagnostics, inspectRunFolder, jsonlFileSink, noteResume, prepareRunDir, runPipeline, type EventSink, type RunRecord, type RunResult, type ValidatedPipeline } from '@lorapipe/core'
import { newRunRefusal } from '@lorapipe/core/run/folder.ts'
import { SweepStageHost } from '@lorapipe/core/sweep/host.ts'
import { openTracking, type Tracking } from '@lorapipe/core/tracking/open.ts'
import { TrackerUnavailable } from '@lorapipe/core/tracking/tracker.ts'
import type { Diagnostic } from '@lorapipe/core/diagnostics.ts'
import { NotARegularFile } from '@lorapipe/core/fs/atomic.ts'
import type { LockHandle } from '@lorapipe/core/fs/lock.ts'
import { makeFolder } from '@lorapipe/core/fs/make-folder.ts'
import { removeLeftovers } from '@lorapipe/core/run/leftovers.ts'
import { lockRunFolder, RunFolderBusy, runFolderOwner } from '@lorapipe/core/run/lock.ts'
import { preflight } from '@lorapipe/runner/preflight/pipeline.ts'
import { builtinStages, stageBodies } from '@lorapipe/runner/stages/registry.ts'
import { sweepStageHost } from '../commands/sweep-deps.ts'
import { writeReport } from '../report/write.ts'

/** Bad input found before anything ran: what is wrong and the fix. Nothing was written. */
export class RunRefused extends Data.TaggedError('RunRefused')<{
  readonly message: string
  readonly hint?: string
  /** The problems found in the pipeline's inputs; the message is their report (file:line: error ...), printed as it is. */
  readonly diagnostics?: readonly Diagnostic[]
}> {
  /** As the command prints it. */
  get text(): string {
    return this.diagnostics ? `${this.message}\n` : `error: ${this.message}\n${this.hint ? `  hint: ${this.hint}\n` : ''}`
  }
}

const busy = (e: RunFolderBusy) => new RunRefused({ message: e.message, ...(e.hint ? { hint: e.hint } : {}) })

/** A run about to start: its pipeline, its folder, and the record of the run it continues, if it does. */
export interface OpenedRun {
  readonly p: ValidatedPipeline
  readonly runDir: string
  readonly resumed?: RunRecord
}

/**
 * A new run of a loaded pipeline: its folder (`out`, else `output.dir`, else runs/<name>/<time>)
 * must take a new run, and its local (or cached) inputs must pass the preflight, before the
 * folder exists: bad data is bad input, and nothing is written.
 */
export async function openNewRun(p: ValidatedPipeline, opts: { readonly out?: string | undefined } = {}): Promise<OpenedRun | RunRefused> {
  const runDir = opts.out ? resolve(opts.out) : defaultRunDir(p)
  const refused = refuseRunFolder(runDir, opts.out)
  if (refused) return refused
  const checked = await preflight(p)
  if (checked.diagnostics.length > 0) return new RunRefused({ message: `${formatDiagnostics(checked.diagnostics, p.texts)}\nnothing was run or written`, diagnostics: checked.diagnostics })
  return { p, runDir }
}

/** Why `runDir` cannot take a new run (a run already, someone's files, a file, in use), or undefined. */
export function refuseRunFolder(runDir: string, out: string | undefined, opts: { locked?: boolean } = {}): RunRefused | undefined {
  const state = inspectRunFolder(runDir)
  if (state.kind === 'absent') return undefined
  const owner = state.kind === 'not a folder' || opts.locked ? undefined : runFolderOwner(runDir)
  if (owner) return busy(new RunFolderBusy({ dir: runDir, holder: owner }))
  const taken = newRunRefusal(runDir, state, out ?? runDir)
  return taken && new RunRefused(taken)
}

/** A run folder that a running process holds (another run or resume there is refused). */
export function refuseBusyRunFolder(runDir: string): RunRefused | undefined {
  const owner = runFolderOwner(runDir)
  return owner ? busy(new RunFolderBusy({ dir: runDir, holder: owner })) : undefined
}

/** A run folder held for the run: release the lock when it ends. */
export interface TakenRunFolder {
  readonly lock: LockHandle
  /** The experiment trackers of `trainer.report_to`, when the pipeline names any. */
  readonly tracking?: Tracking
}

/**
 * The run folder, made and locked for the whole run (a second run or resume in it is refused),
 * then readied: a resumed run's leftovers removed and the resume noted, a new run's files written,
 * and the experiment trackers of `trainer.report_to` opened.
 */
export function takeRunFolder(
  { p, runDir, resumed }: OpenedRun,
  opts: { readonly out?: string | undefined; readonly sets?: readonly string[]; readonly note?: (message: string) => void } = {},
): TakenRunFolder | RunRefused {
  try {
    makeFolder(runDir)
  } catch (e) {
    return new RunRefused({ message: `cannot create the run folder ${runDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, hint: 'choose a folder you can write to with --out' })
  }
  const lock = lockRunFolder(runDir)
  if (lock instanceof RunFolderBusy) return busy(lock)
  try {
    if (resumed) {
      const removed = removeLeftovers(runDir)
      if (removed.length > 0) opts.note?.(`removed ${removed.length} temporary file${removed.length > 1 ? 's' : ''} left by the interrupted run`)
      // Before the resume is noted: a tracker that cannot go on refuses the resume itself.
      const tracking = openTracking(p, runDir)
      noteResume(runDir, resumed)
      return tracking ? { lock, tracking } : { lock }
    }
    // Checked again under the lock: another run may have started here since.
    const refused = refuseRunFolder(runDir, opts.out, { locked: true })
    if (refused) return (lock.release(), refused)
    prepareRunDir(p, runDir, opts.sets ?? [])
    const tracking = openTracking(p, runDir)
    return tracking ? { lock, tracking } : { lock }
  } catch (e) {
    lock.release()
    if (e instanceof TrackerUnavailable) return new RunRefused({ message: `${e.message}; nothing was run`, ...(e.hint ? { hint: e.hint } : {}) })
    if (e instanceof NotARegularFile) return new RunRefused({ message: e.message, ...(e.hint ? { hint: e.hint } : {}) })
    const err = e as NodeJS.ErrnoException
    if (err.code && err.path) return new RunRefused({ message: `cannot write the run folder ${runDir}: ${err.code} on ${err.path}`, hint: 'choose a folder you can write to with --out' })
    throw e
  }
}

/** How a run ended: the executor's status (interrupted also when it was stopped before it began). */
export interface RunEnd {
  readonly status: RunResult['status']
  readonly result?: RunResult
}

export interface StartedRun {
  /** Stops the run cleanly (its stages are interrupted, checkpoints kept); `done` then settles. */
  readonly interrupt: () => void
  readonly done: Promise<RunEnd>
}

/**
 * Runs a pipeline in its (locked, readied) folder: every event goes to events.jsonl, the trackers
 * and `sinks`. Each built-in stage's body (and TensorFlow.js with it) is loaded when the stage
 * first runs; a `uses: sweep` stage's trials are lorapipe runs, shown and reported as the command
 * line does.
 */
export function startRun(
  p: ValidatedPipeline,
  runDir: string,
  opts: { readonly resume: boolean; readonly concurrency?: number | undefined; readonly sinks: readonly EventSink[]; readonly tracking?: Tracking | undefined },
): StartedRun {
  const sinks: EventSink[] = [jsonlFileSink(join(runDir, 'events.jsonl')), ...(opts.tracking ? [opts.tracking.sink] : []), ...opts.sinks]
  const layer = Layer.mergeAll(eventsLayer(sinks), Layer.succeed(BuiltinStages, stageBodies(builtinStages)), Layer.succeed(SweepStageHost, sweepStageHost))
  const fiber = Effect.runFork(runPipeline(p, { runDir, concurrency: opts.concurrency, resume: opts.resume }).pipe(Effect.provide(layer)))
  const done = Effect.runPromise(Fiber.await(fiber)).then((exit): RunEnd => {
    if (Exit.isSuccess(exit)) return { status: exit.value.status, result: exit.value }
    return { status: Exit.isInterrupted(exit) ? 'interrupted' : 'failed' }
  })
  return { interrupt: () => void Effect.runFork(Fiber.interrupt(fiber)), done }
}

/** The run's report, from what its folder holds now (also after a failure or an interruption); its path. */
export function writeRunReport(runDir: string): string {
  return writeReport(runDir)
}
