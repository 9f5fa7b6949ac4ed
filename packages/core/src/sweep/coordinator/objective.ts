// Which reported number is the sweep's objective. The metric is named as in `metrics.json`'s
// evaluation with an `eval_` prefix (`eval_accuracy`, `eval_loss`, `eval_f1`), optionally after
// the stage that reports it (`lora.eval_accuracy` for a multi-stage base).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
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

/**
 * The evaluations a trial's stage wrote into its `metrics.json` (`history.eval`), as the
 * EvalMetrics events it reported while running. A trial continued after that stage had finished
 * (its sweep stopped just then: a kill, a full disk) reuses the stage and reports nothing again;
 * this is where its evaluations are then. Empty when there is no such file (a stage of another kind).
 */
export function evaluationsOnFile(runDir: string, stage: string): RunEvent[] {
  const file = [join(runDir, stage, 'metrics.json'), join(runDir, 'metrics.json')].find((f) => existsSync(f))
  if (!file) return []
  let history: unknown
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as { history?: { eval?: unknown } }
    history = m.history?.eval
  } catch {
    return []
  }
  if (!Array.isArray(history)) return []
  return history.flatMap((r: Record<string, unknown>) => {
    if (typeof r !== 'object' || r === null || typeof r.step !== 'number') return []
    const metrics = Object.fromEntries(Object.entries(r).filter(([k, v]) => k !== 'step' && k !== 'epoch' && typeof v === 'number')) as Record<string, number>
    return [{ _tag: 'EvalMetrics' as const, step: r.step, epoch: typeof r.epoch === 'number' ? r.epoch : 0, metrics, stage, time: '' } as RunEvent]
  })
}
