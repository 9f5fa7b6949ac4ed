// Running a sweep from code: what `lorapipe sweep <file>` does with the local executor (each
// trial an ordinary `lorapipe run` in a child process), through the same steps: core's, to open
// a new sweep folder (core/src/sweep/folder/open.ts: the start, the folder's refusal, its files),
// the checks `run` makes (the runner's preflight), the coordinator with the local executor, and
// the command line's launcher and report (cli/src/commands/sweep-deps.ts), with the events
// handed to the caller.
import { resolve } from 'node:path'
import type { SweepEvent } from '@lorapipe/core/sweep/events.ts'
import type { SweepResult } from '@lorapipe/core/sweep/coordinator/coordinator.ts'
import { InvalidInput } from './errors.ts'
import { EventQueue, running, type Running } from './stream.ts'

export type { SweepEvent, SweepStatus } from '@lorapipe/core/sweep/events.ts'
export type { Leaderboard, LeaderboardRow } from '@lorapipe/core/sweep/coordinator/leaderboard.ts'

export interface RunSweepOptions {
  /** `key.path=value` overrides of the base pipeline, as `--set` takes them. */
  readonly sets?: readonly string[]
  /** The sweep folder (new or empty); default `sweeps/<name>/<timestamp>`. As `--out`. */
  readonly out?: string
  /** Trials at once; default the sweep file's `concurrency`, else 1. */
  readonly concurrency?: number
  /** Each event as it happens (also available by iterating the returned object). */
  readonly onEvent?: (event: SweepEvent) => void
  /** Aborting it stops every trial cleanly, as Ctrl-C does; `lorapipe sweep --resume DIR` continues it. */
  readonly signal?: AbortSignal
}

export interface SweepOutcome extends SweepResult {
  /** The sweep's HTML report, when it could be written. */
  readonly report?: string
}

export type SweepHandle = Running<SweepEvent, SweepOutcome>

/** What runSweep uses, loaded on first use: a stage module that imports `lorapipe` loads none of it. */
const modules = async () => {
  const [Effect, Exit, Fiber, Cause, Option, { formatDiagnostics, timestamp }, { UserFileError }, { sweepTextsOf }, coordinator, { SweepFolderUnwritable }, { localExecutorLayer }, { sweepEventsFile }, open, { sweepPlan }, { loadCheckedSweep }, deps] =
    await Promise.all([
      import('effect/Effect'),
      import('effect/Exit'),
      import('effect/Fiber'),
      import('effect/Cause'),
      import('effect/Option'),
      import('@lorapipe/core'),
      import('@lorapipe/core/fs/user-file.ts'),
      import('@lorapipe/core/sweep/file/types.ts'),
      import('@lorapipe/core/sweep/coordinator/coordinator.ts'),
      import('@lorapipe/core/sweep/coordinator/unwritable.ts'),
      import('@lorapipe/core/sweep/executors/local.ts'),
      import('@lorapipe/core/sweep/folder/files.ts'),
      import('@lorapipe/core/sweep/folder/open.ts'),
      import('@lorapipe/core/sweep/plan.ts'),
      import('@lorapipe/runner/preflight/pipeline.ts'),
      import('@lorapipe/cli/commands/sweep-deps.ts'),
    ])
  return { Effect, Exit, Fiber, Cause, Option, formatDiagnostics, timestamp, UserFileError, sweepTextsOf, coordinator, SweepFolderUnwritable, localExecutorLayer, sweepEventsFile, open, sweepPlan, loadCheckedSweep, deps }
}

/**
 * Runs a sweep file on this machine. `await` it for the outcome (status, best trial, best.yaml,
 * leaderboard), or iterate it for the events. Bad input rejects with InvalidInput before anything
 * is written; a sweep folder that cannot be written rejects with SweepFolderUnwritable.
 */
export function runSweep(file: string, options: RunSweepOptions = {}): SweepHandle {
  const queue = new EventQueue<SweepEvent>()
  let stopped = false
  let interrupt: (() => void) | undefined
  const stop = () => {
    stopped = true
    interrupt?.()
  }
  options.signal?.addEventListener('abort', stop, { once: true })
  const result = (async (): Promise<SweepOutcome> => {
    const m = await modules()
    const { Effect, Exit, Fiber, open } = m
    // As `lorapipe sweep <file>` opens a new sweep (cli/src/commands/sweep.ts, openNew).
    const begun = open.newStart(resolve(file), options.sets ?? [], options.concurrency ?? 0)
    if (begun instanceof m.UserFileError) {
      const missing = begun.problem === 'not found' && begun.target === undefined
      throw new InvalidInput({ message: missing ? `${file}: no such file` : `${file} ${begun.reason}`, ...(missing ? {} : { hint: begun.hint }), diagnostics: [] })
    }
    const loaded = await Effect.runPromise(Effect.either(m.loadCheckedSweep(begun.file, { sets: begun.sets })))
    if (loaded._tag === 'Left') {
      const e = loaded.left
      throw new InvalidInput({ message: `${m.formatDiagnostics(e.diagnostics, m.sweepTextsOf(e))} in ${e.file}`, diagnostics: e.diagnostics })
    }
    const sweep = loaded.right
    const concurrency = options.concurrency ?? sweep.concurrency ?? 1
    const dir = options.out !== undefined ? resolve(options.out) : resolve('sweeps', sweep.name, m.timestamp())
    const taken = open.newFolderRefusal(dir, options.out ?? dir)
    if (taken) throw new InvalidInput({ message: taken.reason, ...(taken.hint ? { hint: taken.hint } : {}), diagnostics: [] })
    const start = open.createSweepFolder(dir, sweep, begun, concurrency, 'run it again')
    if (start instanceof m.SweepFolderUnwritable) throw start

    const sink = (e: SweepEvent) => {
      queue.push(e)
      options.onEvent?.(e)
    }
    const local = m.localExecutorLayer({ concurrency, cwd: start.cwd, entry: m.deps.lorapipeEntry(), checkFiles: m.deps.checkTrialFiles })
    const fiber = Effect.runFork(m.coordinator.runSweep(m.sweepPlan(sweep, dir, concurrency, [m.sweepEventsFile(dir), sink])).pipe(Effect.provide(local)))
    interrupt = () => void Effect.runFork(Fiber.interrupt(fiber))
    if (stopped || options.signal?.aborted) interrupt()
    try {
      const exit = await Effect.runPromise(Fiber.await(fiber))
      if (Exit.isSuccess(exit)) {
        const report = await m.deps.writeSweepReportIfAvailable(dir).catch(() => undefined)
        return { ...exit.value, ...(report ? { report } : {}) }
      }
      if (Exit.isInterrupted(exit)) {
        const leaderboard = { metric: { name: sweep.metric.name, goal: sweep.metric.goal }, rows: [] }
        return { status: 'interrupted', reason: 'stopped before the sweep began', leaderboard, dir }
      }
      const e = m.Option.getOrUndefined(m.Cause.failureOption(exit.cause))
      if (e instanceof m.coordinator.SweepFolderBusy) throw new InvalidInput({ message: e.message, hint: e.hint, diagnostics: [] })
      throw e ?? m.Cause.squash(exit.cause)
    } finally {
      options.signal?.removeEventListener('abort', stop)
    }
  })()
  return running(queue, result, stop)
}
