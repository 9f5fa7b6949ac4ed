// Which reported number is the sweep's objective. The metric is named as in `metrics.json`'s
// evaluation with an `eval_` prefix (`eval_accuracy`, `eval_loss`, `eval_f1`), optionally after
// the stage that reports it (`lora.eval_accuracy` for a multi-stage base).
import type { RunEvent } from '../../events.ts'

export interface Objective {
  /** The stage whose evaluations count; any stage when absent. */
  readonly stage?: string
  /** The key in an EvalMetrics event's `metrics` (`accuracy`, `loss`, ...). */
  readonly key: string
}

export function objectiveOf(metric: string): Objective {
  const dot = metric.lastIndexOf('.')
  const stage = dot > 0 ? metric.slice(0, dot) : undefined
  const name = dot > 0 ? metric.slice(dot + 1) : metric
  const key = name.startsWith('eval_') ? name.slice('eval_'.length) : name
  return stage ? { stage, key } : { key }
}

/** The objective's value in a run event, with the evaluation's step and stage, when the event is an evaluation that reports it. */
export function objectiveIn(o: Objective, e: RunEvent): { value: number; step: number; stage: string; metrics: Readonly<Record<string, number>> } | undefined {
  if (e._tag !== 'EvalMetrics') return undefined
  const stage = e.stage ?? ''
  if (o.stage !== undefined && stage !== o.stage) return undefined
  const value = e.metrics[o.key]
  if (typeof value !== 'number') return undefined
  return { value, step: e.step, stage, metrics: e.metrics }
}
