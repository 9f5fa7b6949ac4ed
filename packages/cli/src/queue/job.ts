// What a trial's job carries and what comes back, as plain JSON through Redis.
import type { RunEvent } from '@lorapipe/core'
import type { TrialOutcome, TrialSpec } from '@lorapipe/core/sweep/coordinator/executor.ts'

export interface TrialJobData {
  readonly spec: TrialSpec
  /**
   * The trial's fully resolved pipeline (YAML, paths absolute, hub ids kept): a worker runs it as
   * it is and needs nothing else from the coordinator's machine.
   */
  readonly pipeline: string
}

/** A run event of the trial, tagged with the attempt that produced it (BullMQ's attemptsStarted). */
export interface TrialProgress {
  readonly attempt: number
  readonly event: RunEvent
}

export type TrialJobResult = TrialOutcome

/** Why a job ended without a result: said by the worker, read by the coordinator. */
export const STOPPED_BY_COORDINATOR = 'stopped by the coordinator'
