// An experiment tracker: one more subscriber to the run's events, named in `trainer.report_to`.
// It is opened where the run's event sinks are set up (before anything runs, so a tracker that
// cannot work is refused as bad input), sees every event in order, and is closed when the run
// ends. A tracker only projects the events and the stages' settings onto its own store; it never
// changes the run. See tracking/registry.ts for the list, README "Experiment tracking" for how to add one.
import * as Data from 'effect/Data'
import type { RunEvent } from '../events.ts'

export type HParamValue = string | number | boolean

export interface TrackedStage {
  /** The stage id: events carry it as `stage`. */
  readonly id: string
  /** The stage's settings (its `with:` after defaults), as a nested object. */
  readonly config: Readonly<Record<string, unknown>>
  /** The same settings flattened to dotted names (`lora.r`, `trainer.learning_rate`), lists as JSON text, plus the pipeline's `seed`. */
  readonly hparams: Readonly<Record<string, HParamValue>>
}

export interface TrackingContext {
  readonly runDir: string
  /** The stages whose `report_to` names this tracker. */
  readonly stages: readonly TrackedStage[]
}

export interface TrackerSession {
  /** Called for each run event, in order. Must not throw: a failure is kept for `problems`. */
  readonly event: (e: RunEvent) => void
  /** What went wrong while the run lasted (one sentence each, naming the file), for a warning. */
  readonly problems: () => readonly string[]
}

export interface Tracker {
  /** Readies the tracker's store for these stages; throws TrackerUnavailable when it cannot be used. */
  readonly open: (ctx: TrackingContext) => TrackerSession
}

/** A tracker cannot be used for this run: its files cannot be written, or what is there is damaged. */
export class TrackerUnavailable extends Data.TaggedError('TrackerUnavailable')<{
  readonly tracker: string
  /** The file or folder at fault. */
  readonly path: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.tracker} (trainer.report_to) cannot use ${this.path}: ${this.reason}`
  }
}
