// The seam between the coordinator (what to run, when to stop it) and whatever runs a trial: a
// child process on this machine (the CLI's local executor), or a worker behind a job queue. All a
// trial needs travels in a TrialSpec, plain JSON, so any transport can carry it; what comes back
// is the trial's run events and how it ended.
import * as Context from 'effect/Context'
import type * as Effect from 'effect/Effect'
import type { RunEvent } from '../../events.ts'
import type { Assignment } from '../model.ts'

/** One trial, as an ordinary pipeline run: the base pipeline file plus `--set` arguments. */
export interface TrialSpec {
  /** The sweep's id (its folder name), e.g. for job ids `<sweep>-<trial>`. */
  readonly sweep: string
  readonly trial: number
  readonly assignment: Assignment
  readonly pipeline: {
    /** Absolute path of the base pipeline. */
    readonly file: string
    /** `key.path=value` arguments that turn the base into this trial's pipeline. */
    readonly sets: readonly string[]
  }
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
