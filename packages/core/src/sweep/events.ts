// Progress of a sweep, as a stream of typed events beside the run events of its trials. The
// coordinator publishes them; the Ink UI, plain lines, `--json` and the sweep folder's
// events.jsonl subscribe, as for a single run.
import type { RunEvent } from '../events.ts'
import type { Assignment, Goal, TrialState } from './model.ts'

export type SweepStatus = 'finished' | 'stopped' | 'failed' | 'interrupted'

export type SweepEvent =
  | {
      readonly _tag: 'SweepStarted'
      readonly time: string
      readonly sweep: string
      readonly file: string
      readonly sweepDir: string
      readonly method: string
      readonly metric: { readonly name: string; readonly goal: Goal; readonly target?: number }
      readonly parameters: readonly string[]
      /** Trials the sweep will run at most: `run_cap`, or the grid's size. */
      readonly totalTrials?: number
      readonly concurrency: number
      readonly resumed: boolean
      /** Every change of recipe so far (files edited, resumed with `--accept-changes`); absent when there was none. */
      readonly recipes?: readonly { readonly recipe: number; readonly time: string; readonly files: readonly { readonly path: string; readonly change: 'changed' | 'missing' | 'added' }[] }[]
    }
  | {
      readonly _tag: 'TrialStarted'
      readonly time: string
      readonly trial: number
      readonly assignment: Assignment
      readonly runDir: string
      readonly resumed: boolean
      /** The recipe the trial runs under (the one it was assigned under), once the recipe changed during the sweep (else 1, left out). */
      readonly recipe?: number
    }
  /** A run event of one trial (its progress, training logs, evaluations), wrapped. */
  | { readonly _tag: 'TrialEvent'; readonly time: string; readonly trial: number; readonly event: RunEvent }
  /** The trial's objective after its `evaluation`-th evaluation (1-based), with all its metrics. */
  | { readonly _tag: 'TrialMetrics'; readonly time: string; readonly trial: number; readonly evaluation: number; readonly step: number; readonly value: number; readonly metrics: Readonly<Record<string, number>> }
  | {
      readonly _tag: 'TrialFinished'
      readonly time: string
      readonly trial: number
      readonly state: Exclude<TrialState, 'running'>
      readonly value?: number
      /** Why it failed (the tail of its error) or was pruned. */
      readonly reason?: string
      readonly durationMs: number
    }
  | { readonly _tag: 'SweepLog'; readonly time: string; readonly level: 'info' | 'warn' | 'error'; readonly message: string }
  | {
      readonly _tag: 'SweepFinished'
      readonly time: string
      readonly status: SweepStatus
      readonly reason: string
      readonly best?: { readonly trial: number; readonly value: number; readonly assignment: Assignment }
      readonly durationMs: number
      readonly sweepDir: string
    }

export type SweepEventSink = (event: SweepEvent) => void
