// What the terminal UI shows of a run: core's run view (see @lorapipe/core/views/run.ts), kept
// with a bounded training history, and the lines printed once above the live area (warnings,
// errors, info logs; debug logs with --verbose), which the UI renders from each event as it comes.
import type { LogLevel, RunEvent } from '@lorapipe/core'
import { initialRunView, reduceRun, type EvalRow, type RunView, type StageView } from '@lorapipe/core/views/run.ts'

export interface Message {
  readonly id: number
  readonly level: LogLevel
  readonly stage?: string
  readonly text: string
}

export interface UiState extends RunView {
  /** Lines printed once above the live area (warnings, errors, info logs). */
  readonly messages: readonly Message[]
  readonly verbose: boolean
}

/** Training-loss history kept for the sparkline; older points are dropped. */
export const TRAIN_HISTORY = 240

export function initialState(opts: { verbose?: boolean } = {}): UiState {
  return { ...initialRunView({ trainHistory: TRAIN_HISTORY }), messages: [], verbose: opts.verbose ?? false }
}

/** The line an event prints above the live area, if any. */
function messageOf(e: RunEvent, verbose: boolean): Omit<Message, 'id'> | undefined {
  if (e._tag === 'StageFailed') return { level: 'error', stage: e.stage, text: `failed: ${e.error}` }
  if (e._tag === 'Log' && (e.level !== 'debug' || verbose)) return { level: e.level, stage: e.stage, text: e.message }
  return undefined
}

export function reduce(state: UiState, e: RunEvent): UiState {
  const s = { ...state, ...reduceRun(state, e) }
  const m = messageOf(e, state.verbose)
  return m ? { ...s, messages: [...s.messages, { id: s.messages.length, ...m }] } : s
}

/** `eval_loss` and `loss` name the same thing; the UI shows the short names. */
export function metricName(key: string): string {
  return key.startsWith('eval_') ? key.slice(5) : key
}

/** Elapsed seconds of a running stage at `now`, and the estimated seconds left. */
export function timing(v: StageView, now: number): { elapsedS: number; etaS?: number } {
  const elapsedS = v.startedAt === undefined ? 0 : Math.max(0, (now - v.startedAt) / 1000)
  const p = v.progress
  if (!p || !p.stepsPerSecond || p.stepsPerSecond <= 0) return { elapsedS }
  const sinceReport = Math.max(0, (now - p.at) / 1000)
  return { elapsedS, etaS: Math.max(0, (p.totalSteps - p.step) / p.stepsPerSecond - sinceReport) }
}

/** The evaluation metrics shown as table columns, in a stable order. */
export function evalColumns(evals: readonly EvalRow[]): string[] {
  const names = new Set<string>()
  for (const r of evals) for (const k of Object.keys(r.metrics)) names.add(metricName(k))
  const order = ['loss', 'perplexity', 'accuracy', 'f1']
  return [...names].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b))
}
