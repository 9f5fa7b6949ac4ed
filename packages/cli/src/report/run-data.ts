// Everything the report shows, read back from a run folder: `events.jsonl` (the stages, their
// states and times, training logs and evaluations), each stage's `metrics.json` (RunMetrics) and a
// compare stage's `comparison.json`, and `config.resolved.yaml`. Works for any run folder, also
// one whose run was interrupted or failed.
import { existsSync, statSync } from 'node:fs'
import { FILE_KINDS, readUserText } from '@lorapipe/core/fs/user-file.ts'
import { join } from 'node:path'
import * as Data from 'effect/Data'
import type { RunEvent, RunMetrics, StagePlanEntry } from '@lorapipe/core'

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
}

export interface EvalPoint {
  readonly step: number
  readonly epoch: number
  readonly loss?: number
  readonly accuracy?: number
  readonly f1?: number
}

export interface ComparisonTable {
  readonly metric: string
  readonly rows: readonly Readonly<Record<string, number | string>>[]
}

export interface StageReport {
  readonly id: string
  readonly uses: string
  readonly needs: readonly string[]
  readonly status: 'waiting' | 'running' | 'done' | 'failed' | 'skipped' | 'interrupted'
  readonly durationMs?: number
  readonly error?: string
  readonly outputs?: Readonly<Record<string, unknown>>
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

interface Mutable {
  id: string
  uses: string
  needs: readonly string[]
  status: StageReport['status']
  durationMs?: number
  error?: string
  outputs?: Readonly<Record<string, unknown>>
  train: TrainPoint[]
  eval: EvalPoint[]
  bestStep?: number
}

export function readRun(runDir: string): RunReport {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new ReportError({ dir: runDir, reason: 'no such folder' })
  const { events, badLines } = readEvents(join(runDir, 'events.jsonl'))
  const configFile = join(runDir, 'config.resolved.yaml')
  const config = existsSync(configFile) ? readUserText(configFile, FILE_KINDS.yaml) : undefined
  if (events.length === 0 && config === undefined)
    throw new ReportError({ dir: runDir, reason: 'it has neither events.jsonl nor config.resolved.yaml, so it is not a lorapipe run folder' })

  let pipeline = readJson<{ pipeline?: string }>(join(runDir, 'run.json'))?.pipeline ?? ''
  let file: string | undefined
  let startedAt: string | undefined
  let status: RunReport['status']
  let durationMs: number | undefined
  let plan: readonly StagePlanEntry[] = []
  const stages = new Map<string, Mutable>()
  const messages: { level: string; stage?: string; text: string }[] = []
  const stage = (id: string): Mutable => {
    let s = stages.get(id)
    if (!s) stages.set(id, (s = { id, uses: '?', needs: [], status: 'waiting', train: [], eval: [] }))
    return s
  }
  // events.jsonl grows across resumed runs; the last run's plan and each stage's last attempt win.
  for (const e of events) {
    const id = 'stage' in e ? e.stage : undefined
    switch (e._tag) {
      case 'RunStarted':
        pipeline = e.pipeline
        file = e.file
        startedAt ??= e.time
        plan = e.stages
        status = undefined
        for (const p of e.stages) Object.assign(stage(p.id), { uses: p.uses, needs: p.needs })
        break
      case 'StageStarted':
        Object.assign(stage(e.stage), { uses: e.uses, status: 'running', train: [], eval: [], bestStep: undefined, error: undefined })
        break
      case 'StageFinished': {
        const s = stage(e.stage)
        // A resumed run reports a reused stage as finished in 0 ms; keep the real duration.
        Object.assign(s, { status: 'done', outputs: e.outputs, durationMs: e.durationMs > 0 || s.durationMs === undefined ? e.durationMs : s.durationMs })
        break
      }
      case 'StageFailed':
        Object.assign(stage(e.stage), { status: 'failed', durationMs: e.durationMs, error: e.error })
        messages.push({ level: 'error', stage: e.stage, text: e.error })
        break
      case 'StageInterrupted':
        Object.assign(stage(e.stage), { status: 'interrupted', durationMs: e.durationMs })
        break
      case 'StageSkipped':
        Object.assign(stage(e.stage), { status: 'skipped', error: e.reason })
        break
      case 'TrainLog':
        if (id) stage(id).train.push({ step: e.step, epoch: e.epoch, loss: e.loss, learning_rate: e.learningRate, samples_per_s: e.samplesPerSecond })
        break
      case 'EvalMetrics':
        if (id) {
          const m = e.metrics
          stage(id).eval.push({ step: e.step, epoch: e.epoch, loss: num(m.loss ?? m.eval_loss), accuracy: num(m.accuracy ?? m.eval_accuracy), f1: num(m.f1 ?? m.eval_f1) })
          if (e.best) stage(id).bestStep = e.step
        }
        break
      case 'Log':
        if (e.level === 'warn' || e.level === 'error') messages.push({ level: e.level, stage: id, text: e.message })
        break
      case 'RunFinished':
        status = e.status
        durationMs = e.durationMs
        for (const s of stages.values()) if (s.status === 'running') s.status = 'interrupted'
        break
    }
  }

  const order = [...plan.map((p) => p.id), ...[...stages.keys()].filter((k) => !plan.some((p) => p.id === k))]
  const reports = order.map((id): StageReport => {
    const s = stage(id)
    // Files a stage wrote: its outputs first, then the conventional names in its folder (a
    // single-job pipeline's stage writes into the run folder itself).
    const candidates = (output: string, name: string) => {
      const o = s.outputs?.[output]
      const list = typeof o === 'string' && o.endsWith(name) ? [o] : []
      return [...list, join(runDir, id, name), ...(order.length === 1 ? [join(runDir, name)] : [])]
    }
    const metricsFile = candidates('metrics', 'metrics.json').find(existsSync)
    const metrics = metricsFile ? readJson<RunMetrics>(metricsFile) : undefined
    const validMetrics = metrics && typeof metrics === 'object' && metrics.history ? metrics : undefined
    const comparisonFile = candidates('json', 'comparison.json').find(existsSync)
    const comparison = comparisonFile ? readJson<ComparisonTable>(comparisonFile) : undefined
    // metrics.json holds the whole history of a finished run; events hold what happened so far.
    const train = validMetrics && validMetrics.history.train.length > 0 ? validMetrics.history.train.map((t) => ({ ...t })) : s.train
    const evals =
      validMetrics && validMetrics.history.eval.length > 0
        ? validMetrics.history.eval.map((r) => ({ step: r.step, epoch: r.epoch, loss: num(r.loss), accuracy: num(r.accuracy), f1: num(r.f1) }))
        : s.eval
    return {
      id,
      uses: s.uses,
      needs: s.needs,
      status: s.status,
      durationMs: s.durationMs,
      error: s.error,
      outputs: s.outputs,
      metrics: validMetrics,
      comparison: comparison && Array.isArray(comparison.rows) ? comparison : undefined,
      train,
      eval: evals,
      bestStep: validMetrics?.best?.step ?? s.bestStep,
    }
  })
  return { runDir, pipeline, file, startedAt, status, durationMs, config, stages: reports, messages, badLines }
}
