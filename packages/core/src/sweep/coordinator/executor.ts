// The seam between the coordinator (what to run, when to stop it) and whatever runs a trial: a
// child process on this machine (../executors/local.ts), or a worker behind a job queue. A
// TrialSpec holds the trial's pipeline as the object it runs (built by ../trial.ts), which an
// executor on this machine writes into the trial's run folder; a transport to another machine
// carries only the assignment, from which the other side builds the same pipeline with the same
// function. What comes back is the trial's run events and how it ended.
import * as Context from 'effect/Context'
import type * as Effect from 'effect/Effect'
import type * as Either from 'effect/Either'
import type { PipelineInvalid } from '../../diagnostics.ts'
import type { RunEvent } from '../../events.ts'
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import type { Assignment } from '../model.ts'

/** One trial, as an ordinary pipeline run in a run folder of its own. */
export interface TrialSpec {
  /** The sweep's id (its folder name), e.g. for job ids `<sweep>-<trial>`. */
  readonly sweep: string
  readonly trial: number
  readonly assignment: Assignment
  /** The trial's pipeline, validated; or why it is invalid (a combination the sweep's preflight did not load), which fails the trial. */
  readonly pipeline: Either.Either<ValidatedPipeline, PipelineInvalid>
  /** The `--set` arguments it was made with, as the user gave them (the sweep's command line, a refit's `refit.set`), for the run's record. */
  readonly sets: readonly string[]
  /** The trial's own run folder (absolute), an ordinary one that `lorapipe run --resume` understands. */
  readonly runDir: string
  /** Continue the run in `runDir` from its last checkpoint (a fresh start when nothing is there yet). */
  readonly resume: boolean
}

export type TrialOutcome =
  /** The run succeeded. */
  | { readonly status: 'succeeded' }
  /** The run failed, was killed or ran out of memory; `error` is the tail of what it said. */
  | { readonly status: 'failed'; readonly error: string }
  /** The run stopped cleanly before the end without being asked to (its checkpoint is kept). */
  | { readonly status: 'interrupted' }

export interface TrialRunner {
  /**
   * Runs a trial to its end. `onEvent` receives the trial's run events in order, as they happen.
   * Interrupting the effect stops the trial cleanly (keeping its last checkpoint, so it can be
   * resumed) and completes only once the trial has stopped.
   */
  readonly run: (spec: TrialSpec, onEvent: (event: RunEvent) => void) => Effect.Effect<TrialOutcome>
}

export class TrialExecutor extends Context.Tag('lorapipe/TrialExecutor')<TrialExecutor, TrialRunner>() {}
