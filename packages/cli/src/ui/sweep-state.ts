// What the terminal UI shows of a sweep: core's sweep view (see @lorapipe/core/views/sweep.ts),
// keeping each running trial's run for its panel, and the lines printed once above the live area
// (the sweep's logs, failed trials; pruned ones with --verbose), rendered from each event as it comes.
import type { SweepEvent } from '@lorapipe/core'
import { bestTrial, initialSweepView, reduceSweep as reduceView, type SweepView } from '@lorapipe/core/views/sweep.ts'
import { TRAIN_HISTORY } from './state.ts'

export interface SweepMessage {
  readonly id: number
  readonly level: 'info' | 'warn' | 'error'
  readonly text: string
}

export interface SweepUiState extends SweepView {
  /** The trial the UI stars. */
  readonly bestTrial?: number
  readonly messages: readonly SweepMessage[]
  readonly verbose: boolean
}

export function initialSweepState(opts: { verbose?: boolean } = {}): SweepUiState {
  return { ...initialSweepView({ trialRuns: { trainHistory: TRAIN_HISTORY } }), messages: [], verbose: opts.verbose ?? false }
}

/** The line an event prints above the live area, if any. */
function messageOf(e: SweepEvent, verbose: boolean): Omit<SweepMessage, 'id'> | undefined {
  if (e._tag === 'SweepLog') return { level: e.level, text: e.message }
  if (e._tag !== 'TrialFinished' || !(e.state === 'failed' || (e.state === 'pruned' && verbose))) return undefined
  const text = `trial ${e.trial} ${e.state}${e.reason ? `: ${e.reason.split('\n').find((l) => l.trim() !== '') ?? ''}` : ''}`
  return { level: e.state === 'failed' ? 'warn' : 'info', text }
}

export function reduceSweep(state: SweepUiState, e: SweepEvent): SweepUiState {
  const s = { ...state, ...reduceView(state, e) }
  const m = messageOf(e, state.verbose)
  return { ...s, bestTrial: bestTrial(s), ...(m ? { messages: [...s.messages, { id: s.messages.length, ...m }] } : {}) }
}

/**
 * Seconds left, from the mean duration of finished trials and the concurrency, or undefined when
 * nothing has finished or the total is unknown.
 */
export function sweepEta(s: SweepView, now: number): number | undefined {
  if (s.totalTrials === undefined) return undefined
  const done = s.trials.filter((t) => t.state !== 'running' && t.durationMs !== undefined)
  if (done.length === 0) return undefined
  const mean = done.reduce((a, t) => a + t.durationMs!, 0) / done.length / 1000
  const running = s.trials.filter((t) => t.state === 'running')
  const left = Math.max(0, s.totalTrials - done.length - running.length)
  const par = Math.max(1, s.concurrency ?? 1)
  const runningLeft = running.reduce((a, t) => a + Math.max(0, mean - (t.startedAt === undefined ? 0 : (now - t.startedAt) / 1000)), 0)
  return (runningLeft + left * mean) / par
}
