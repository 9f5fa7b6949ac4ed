// Running a sweep from code: what `lorapipe sweep <file>` does with the local executor (each
// trial an ordinary `lorapipe run` in a child process): the sweep file and every trial pipeline
// checked, a new sweep folder started, the coordinator run, the report written. The same
// functions as the command (packages/cli/src/sweep/), with the events handed to the caller.
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

/**
 * Runs a sweep file on this machine. `await` it for the outcome (status, best trial, best.yaml,
 * leaderboard), or iterate it for the events. Bad input rejects with InvalidInput before anything
 * is written.
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
    const [Effect, Exit, Fiber, Cause, Option, { timestamp, formatDiagnostics }, { UserFileError }, { sweepTextsOf }, coordinator, { loadCheckedSweep }, folder, { sweepInputs }, { localExecutorLayer }, { sweepPlan }] =
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
        import('@lorapipe/runner/preflight/pipeline.ts'),
        import('@lorapipe/cli/sweep/folder.ts'),
        import('@lorapipe/cli/sweep/inputs.ts'),
        import('@lorapipe/cli/sweep/local-executor.ts'),
        import('@lorapipe/cli/sweep/plan.ts'),
      ])
    const abs = resolve(file)
    let sha256: string
    try {
      sha256 = folder.fileHash(abs)
    } catch (e) {
      if (!(e instanceof UserFileError)) throw e
      throw new InvalidInput({ message: `${file} ${e.reason}`, hint: e.hint, diagnostics: [] })
    }
    const sets = options.sets ?? []
    const loaded = await Effect.runPromise(Effect.either(loadCheckedSweep(abs, { sets })))
    if (loaded._tag === 'Left') {
      const e = loaded.left
      throw new InvalidInput({ message: `${formatDiagnostics(e.diagnostics, sweepTextsOf(e))} in ${e.file}`, diagnostics: e.diagnostics })
    }
    const sweep = loaded.right
    const concurrency = options.concurrency ?? sweep.concurrency ?? 1
    const dir = options.out !== undefined ? resolve(options.out) : resolve('sweeps', sweep.name, timestamp())
    const problem = folder.newSweepFolderProblem(dir, options.out ?? dir)
    if (problem) throw new InvalidInput({ message: problem.message, hint: problem.hint, diagnostics: [] })
    const cwd = process.cwd()
    folder.startSweepFolder(dir, sweep, { sweep: sweep.name, file: abs, sha256, sets, cwd, concurrency, startedAt: new Date().toISOString(), inputs: sweepInputs(sweep) })
    const sink = (e: SweepEvent) => {
      queue.push(e)
      options.onEvent?.(e)
    }
    const program = coordinator.runSweep(sweepPlan(sweep, dir, concurrency, [folder.sweepEventsFile(dir), sink])).pipe(Effect.provide(localExecutorLayer({ concurrency, cwd })))
    const fiber = Effect.runFork(program)
    interrupt = () => void Effect.runFork(Fiber.interrupt(fiber))
    if (stopped || options.signal?.aborted) interrupt()
    try {
      const exit = await Effect.runPromise(Fiber.await(fiber))
      if (Exit.isSuccess(exit)) {
        const report = await folder.writeSweepReportIfAvailable(dir).catch(() => undefined)
        return { ...exit.value, ...(report ? { report } : {}) }
      }
      if (Exit.isInterrupted(exit)) {
        const leaderboard = { metric: { name: sweep.metric.name, goal: sweep.metric.goal }, rows: [] }
        return { status: 'interrupted', reason: 'stopped before the sweep began', leaderboard, dir }
      }
      const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
      if (e instanceof coordinator.SweepFolderBusy) throw new InvalidInput({ message: e.message, hint: e.hint, diagnostics: [] })
      throw e ?? Cause.squash(exit.cause)
    } finally {
      options.signal?.removeEventListener('abort', stop)
    }
  })()
  return running(queue, result, stop)
}
