// Running a pipeline from code: what `lorapipe run` does (packages/cli/src/run/session.ts: the run
// folder checked, the preflight, the folder locked and readied, the executor, the report), with
// the events handed to the caller instead of a terminal.
import type { RunEvent } from '@lorapipe/core/events.ts'
import { InvalidInput } from './errors.ts'
import { loadPipeline, type LoadPipelineOptions, type Pipeline, type PipelineSource } from './pipeline.ts'
import { EventQueue, running, type Running } from './stream.ts'

export interface RunPipelineOptions extends LoadPipelineOptions {
  /** The run folder (new or empty); default `output.dir`, else `runs/<name>/<timestamp>`. As `--out`. */
  readonly out?: string
  /** Most stages at once (as `--concurrency`). */
  readonly concurrency?: number
  /** Each event as it happens (also available by iterating the returned object). */
  readonly onEvent?: (event: RunEvent) => void
  /** Aborting it stops the run cleanly, as Ctrl-C does. */
  readonly signal?: AbortSignal
}

export type StageOutcome =
  | { readonly status: 'done'; readonly outputs: Readonly<Record<string, unknown>>; readonly cached?: boolean }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'interrupted' }

export interface RunOutcome {
  /** `succeeded` (exit 0 of `lorapipe run`), `failed` (1) or `interrupted` (130). */
  readonly status: 'succeeded' | 'failed' | 'interrupted'
  readonly runDir: string
  /** By stage id: its outputs (`adapter_dir`, `metrics`, ...) or why it did not finish. */
  readonly stages: Readonly<Record<string, StageOutcome>>
  /** The run's HTML report, unless it could not be written (then `reportError` says why). */
  readonly report?: string
  readonly reportError?: string
  /** What went wrong with the experiment trackers (`trainer.report_to`) while the run lasted, as `lorapipe run` warns of it; the run itself is unaffected. */
  readonly warnings: readonly string[]
}

export type RunHandle = Running<RunEvent, RunOutcome>

/**
 * Runs a pipeline (a file, an object, or one loadPipeline returned) into a new run folder.
 * `await` it for the outcome, or iterate it for the events. Bad input (an invalid pipeline, a
 * folder that is not free, data that is not there) rejects with InvalidInput before anything is
 * written; a run that fails resolves with status `failed`.
 */
export function runPipeline(source: PipelineSource | Pipeline, options: RunPipelineOptions = {}): RunHandle {
  const queue = new EventQueue<RunEvent>()
  let stopped = false
  let interrupt: (() => void) | undefined
  const stop = () => {
    stopped = true
    interrupt?.()
  }
  options.signal?.addEventListener('abort', stop, { once: true })
  const sink = (e: RunEvent) => {
    queue.push(e)
    options.onEvent?.(e)
  }
  const result = (async (): Promise<RunOutcome> => {
    const p = isPipeline(source) ? source : await loadPipeline(source, options)
    const session = await import('@lorapipe/cli/run/session.ts')
    const opened = await session.openNewRun(p, { out: options.out })
    if (opened instanceof session.RunRefused) throw refused(opened)
    const taken = session.takeRunFolder(opened, { out: options.out, sets: options.sets ?? [] })
    if (taken instanceof session.RunRefused) throw refused(taken)
    try {
      const run = session.startRun(p, opened.runDir, { resume: false, concurrency: options.concurrency, sinks: [sink], tracking: taken.tracking })
      interrupt = run.interrupt
      if (stopped || options.signal?.aborted) run.interrupt()
      const end = await run.done
      const stages: Record<string, StageOutcome> = Object.fromEntries(end.result?.stages ?? [])
      const ended = { status: end.status, runDir: opened.runDir, stages }
      const warnings = taken.tracking?.problems() ?? []
      try {
        return { ...ended, report: session.writeRunReport(opened.runDir), warnings }
      } catch (e) {
        return { ...ended, reportError: (e as Error).message, warnings }
      }
    } finally {
      taken.lock.release()
      options.signal?.removeEventListener('abort', stop)
    }
  })()
  return running(queue, result, stop)
}

function isPipeline(source: PipelineSource | Pipeline): source is Pipeline {
  return typeof source === 'object' && source !== null && 'stages' in source && source.stages instanceof Map
}

function refused(r: { readonly message: string; readonly hint?: string | undefined; readonly diagnostics?: InvalidInput['diagnostics'] | undefined }): InvalidInput {
  return new InvalidInput({ message: r.hint ? `${r.message}\n  hint: ${r.hint}` : r.message, ...(r.hint ? { hint: r.hint } : {}), diagnostics: r.diagnostics ?? [] })
}
