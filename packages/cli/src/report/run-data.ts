// Everything the report shows, read back from a run folder: `events.jsonl` (folded with core's run
// view: the stages, their states and times, training logs and evaluations), each stage's
// `metrics.json` (RunMetrics) and a compare stage's `comparison.json`, and `config.resolved.yaml`.
// Works for any run folder, also one whose run was interrupted or failed.
import { existsSync, statSync } from 'node:fs'
import { FILE_KINDS, readUserText } from '@lorapipe/core/fs/user-file.ts'
import { join } from 'node:path'
import * as Data from 'effect/Data'
import type { RunEvent, RunMetrics } from '@lorapipe/core'
import { foldRun, metricOf, type StageView } from '@lorapipe/core/views/run.ts'

export class ReportError extends Data.TaggedError('ReportError')<{ readonly dir: string; readonly reason: string }> {
  override get message() {
    return `cannot build a report from ${this.dir}: ${this.reason}`
  }
}

export interface TrainPoint {
  readonly step: number
  readonly epoch: number
  readonly loss: number
  readonly learning_rate: number
  readonly samples_per_s?: number
  readonly tokens_per_s?: number
}

export interface EvalPoint {
  readonly step: number
  readonly epoch: number
  readonly loss?: number
  readonly accuracy?: number
  readonly f1?: number
  /** Causal LMs. */
  readonly perplexity?: number
}

export interface ComparisonTable {
  readonly metric: string
  readonly rows: readonly Readonly<Record<string, number | string>>[]
}

export interface StageReport extends Pick<StageView, 'id' | 'uses' | 'needs' | 'status' | 'durationMs' | 'outputs'> {
  readonly error?: string
  readonly metrics?: RunMetrics
  readonly comparison?: ComparisonTable
  readonly train: readonly TrainPoint[]
  readonly eval: readonly EvalPoint[]
  /** Step of the best evaluation, when known. */
  readonly bestStep?: number
}

export interface RunReport {
  readonly runDir: string
  readonly pipeline: string
  readonly file?: string
  readonly startedAt?: string
  readonly status?: 'succeeded' | 'failed' | 'interrupted'
  readonly durationMs?: number
  readonly config?: string
  readonly stages: readonly StageReport[]
  readonly messages: readonly { readonly level: string; readonly stage?: string; readonly text: string }[]
  /** Lines of events.jsonl that were not valid JSON (a run killed mid-write). */
  readonly badLines: number
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readUserText(file, FILE_KINDS.config)) as T
  } catch {
    return undefined
  }
}

export function readEvents(file: string): { events: RunEvent[]; badLines: number } {
  return readTaggedLines<RunEvent>(file, () => true)
}

/**
 * The JSON objects with a `_tag` in a JSON-lines file, those `keep` accepts; lines that are not
 * such objects (a process killed mid-write leaves half a line) are counted, not fatal.
 */
export function readTaggedLines<T extends { readonly _tag: string }>(file: string, keep: (tag: string) => boolean): { events: T[]; badLines: number } {
  if (!existsSync(file)) return { events: [], badLines: 0 }
  const events: T[] = []
  let badLines = 0
  for (const line of readUserText(file, FILE_KINDS.textData).split('\n')) {
    if (line.trim() === '') continue
    try {
      const e = JSON.parse(line) as T
      if (typeof e === 'object' && e !== null && typeof e._tag === 'string') {
        if (keep(e._tag)) events.push(e)
      } else badLines++
    } catch {
      badLines++
    }
  }
  return { events, badLines }
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined)

export function readRun(runDir: string): RunReport {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new ReportError({ dir: runDir, reason: 'no such folder' })
  const { events, badLines } = readEvents(join(runDir, 'events.jsonl'))
  const configFile = join(runDir, 'config.resolved.yaml')
  const config = existsSync(configFile) ? readUserText(configFile, FILE_KINDS.yaml) : undefined
  if (events.length === 0 && config === undefined)
    throw new ReportError({ dir: runDir, reason: 'it has neither events.jsonl nor config.resolved.yaml, so it is not a lorapipe run folder' })

  const view = foldRun(events)
  // The header: when the run first started, and the time of its last end (also while a resumed run goes on).
  const first = events.find((e) => e._tag === 'RunStarted')
  const ended = events.filter((e): e is Extract<RunEvent, { _tag: 'RunFinished' }> => e._tag === 'RunFinished').at(-1)
  const messages = events.flatMap((e): RunReport['messages'] =>
    e._tag === 'StageFailed' ? [{ level: 'error', stage: e.stage, text: e.error }] : e._tag === 'Log' && (e.level === 'warn' || e.level === 'error') ? [{ level: e.level, stage: e.stage, text: e.message }] : [],
  )
  const stages = view.stages.map((s): StageReport => {
    // Files a stage wrote: its outputs first, then the conventional names in its folder (a
    // single-job pipeline's stage writes into the run folder itself).
    const candidates = (output: string, name: string) => {
      const o = s.outputs?.[output]
      const list = typeof o === 'string' && o.endsWith(name) ? [o] : []
      return [...list, join(runDir, s.id, name), ...(view.stages.length === 1 ? [join(runDir, name)] : [])]
    }
    const metricsFile = candidates('metrics', 'metrics.json').find(existsSync)
    const metrics = metricsFile ? readJson<RunMetrics>(metricsFile) : undefined
    const validMetrics = metrics && typeof metrics === 'object' && metrics.history ? metrics : undefined
    const comparisonFile = candidates('json', 'comparison.json').find(existsSync)
    const comparison = comparisonFile ? readJson<ComparisonTable>(comparisonFile) : undefined
    // metrics.json holds the whole history of a finished run; events hold what happened so far.
    const train =
      validMetrics && validMetrics.history.train.length > 0
        ? validMetrics.history.train.map((t) => ({ ...t }))
        : s.train.map((t) => ({ step: t.step, epoch: t.epoch, loss: t.loss, learning_rate: t.learningRate, samples_per_s: t.samplesPerSecond, ...(t.tokensPerSecond !== undefined ? { tokens_per_s: t.tokensPerSecond } : {}) }))
    const evals =
      validMetrics && validMetrics.history.eval.length > 0
        ? validMetrics.history.eval.map((r) => ({ step: r.step, epoch: r.epoch, loss: num(r.loss), accuracy: num(r.accuracy), f1: num(r.f1), perplexity: num(r.perplexity) }))
        : s.evals.map((r) => ({ step: r.step, epoch: r.epoch, loss: num(metricOf(r, 'loss')), accuracy: num(metricOf(r, 'accuracy')), f1: num(metricOf(r, 'f1')), perplexity: num(metricOf(r, 'perplexity')) }))
    return {
      id: s.id,
      uses: s.uses,
      needs: s.needs,
      status: s.status,
      durationMs: s.durationMs,
      error: s.detail,
      outputs: s.outputs,
      metrics: validMetrics,
      comparison: comparison && Array.isArray(comparison.rows) ? comparison : undefined,
      train,
      eval: evals,
      // The evaluation the stage last flagged as its best.
      bestStep: validMetrics?.best?.step ?? s.evals.filter((r) => r.best).at(-1)?.step,
    }
  })
  const pipeline = view.pipeline ?? readJson<{ pipeline?: string }>(join(runDir, 'run.json'))?.pipeline ?? ''
  return { runDir, pipeline, file: view.file, startedAt: first?.time, status: view.finished?.status, durationMs: ended?.durationMs, config, stages, messages, badLines }
}
