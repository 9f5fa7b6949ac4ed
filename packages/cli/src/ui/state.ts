// What the terminal UI shows, as a pure function of the events seen so far: `reduce(state, event)`.
// Times come from the events themselves (never the clock), so the same events always give the
// same state; the components only add "now" for elapsed times between events.
import type { LogLevel, RunEvent, StagePlanEntry } from '@lorapipe/core'

export type StageStatus = 'waiting' | 'running' | 'done' | 'failed' | 'skipped' | 'interrupted'

export interface ProgressView {
  readonly step: number
  readonly totalSteps: number
  readonly epoch?: number
  readonly totalEpochs?: number
  /** Steps per second and samples per second since the stage's first progress report. */
  readonly stepsPerSecond?: number
  readonly samplesPerSecond?: number
  /** Time of this report (ms since the epoch), so elapsed time and ETA can be extrapolated. */
  readonly at: number
}

export interface TrainPoint {
  readonly step: number
  readonly epoch: number
  readonly loss: number
  readonly learningRate: number
  readonly samplesPerSecond?: number
}

export interface EvalRow {
  readonly step: number
  readonly epoch: number
  readonly metrics: Readonly<Record<string, number>>
}

export interface StageView {
  readonly id: string
  readonly uses: string
  readonly needs: readonly string[]
  /** `compute`: waits for its turn while another compute stage runs. */
  readonly resource?: 'compute'
  readonly status: StageStatus
  readonly startedAt?: number
  readonly durationMs?: number
  readonly detail?: string
  readonly outputs?: Readonly<Record<string, unknown>>
  readonly progress?: ProgressView
  /** First progress report of this attempt: the origin for rates. */
  readonly progressOrigin?: { readonly step: number; readonly at: number }
  readonly train: readonly TrainPoint[]
  readonly evals: readonly EvalRow[]
  /** Index into `evals` of the best evaluation (the stage's own `best` flag, else lowest loss). */
  readonly bestEval?: number
}

export interface DownloadView {
  readonly key: string
  readonly stage?: string
  readonly repo: string
  readonly file: string
  readonly bytes: number
  readonly total?: number
  readonly bytesPerSecond?: number
  readonly done: boolean
}

export interface Message {
  readonly id: number
  readonly level: LogLevel
  readonly stage?: string
  readonly text: string
}

export interface UiState {
  readonly pipeline?: string
  readonly runDir?: string
  readonly startedAt?: number
  readonly stages: readonly StageView[]
  readonly downloads: readonly DownloadView[]
  /** Lines printed once above the live area (warnings, errors, info logs). */
  readonly messages: readonly Message[]
  readonly finished?: { readonly status: 'succeeded' | 'failed' | 'interrupted'; readonly durationMs: number }
  /** Time of the latest event. */
  readonly lastEventAt?: number
  readonly verbose: boolean
}

/** Training-loss history kept for the sparkline; older points are dropped. */
export const TRAIN_HISTORY = 240

export function initialState(opts: { verbose?: boolean } = {}): UiState {
  return { stages: [], downloads: [], messages: [], verbose: opts.verbose ?? false }
}

/** `eval_loss` and `loss` name the same thing; the UI shows the short names. */
export function metricName(key: string): string {
  return key.startsWith('eval_') ? key.slice(5) : key
}

export function metricOf(row: EvalRow, name: string): number | undefined {
  return row.metrics[name] ?? row.metrics[`eval_${name}`]
}

const emptyStage = (s: StagePlanEntry): StageView => ({ id: s.id, uses: s.uses, needs: s.needs, ...(s.resource ? { resource: s.resource } : {}), status: 'waiting', train: [], evals: [] })

function pickBest(evals: readonly EvalRow[]): number | undefined {
  let best: number | undefined
  evals.forEach((r, i) => {
    const loss = metricOf(r, 'loss')
    const accuracy = metricOf(r, 'accuracy')
    const b = best === undefined ? undefined : evals[best]!
    if (loss !== undefined && Number.isFinite(loss)) {
      if (b === undefined || !(metricOf(b, 'loss')! <= loss)) best = i
    } else if (accuracy !== undefined && (b === undefined || !(metricOf(b, 'accuracy')! >= accuracy))) best = i
  })
  return best
}

export function reduce(state: UiState, e: RunEvent): UiState {
  const at = Date.parse(e.time)
  const s: UiState = { ...state, lastEventAt: Number.isNaN(at) ? state.lastEventAt : at }
  const stageId = 'stage' in e ? e.stage : undefined
  const update = (id: string | undefined, f: (v: StageView) => StageView): UiState => {
    if (id === undefined) return s
    const i = s.stages.findIndex((v) => v.id === id)
    // A stage the plan did not announce (events replayed out of order): show it anyway.
    if (i < 0) return { ...s, stages: [...s.stages, f(emptyStage({ id, uses: '?', needs: [] }))] }
    return { ...s, stages: s.stages.map((v, j) => (j === i ? f(v) : v)) }
  }
  const message = (level: LogLevel, text: string, stage?: string): UiState => ({
    ...s,
    messages: [...s.messages, { id: s.messages.length, level, stage, text }],
  })
  switch (e._tag) {
    case 'RunStarted':
      return { ...s, pipeline: e.pipeline, runDir: e.runDir, startedAt: at, finished: undefined, stages: e.stages.map(emptyStage) }
    case 'StageStarted':
      // A fresh attempt: forget the progress of an earlier one.
      return update(e.stage, (v) => ({ ...emptyStage(v), uses: e.uses, status: 'running', startedAt: at }))
    case 'StageFinished':
      return update(e.stage, (v) => ({ ...v, status: 'done', durationMs: e.durationMs, outputs: e.outputs }))
    case 'StageFailed': {
      const t = update(e.stage, (v) => ({ ...v, status: 'failed', durationMs: e.durationMs, detail: e.error }))
      return { ...t, messages: [...t.messages, { id: t.messages.length, level: 'error', stage: e.stage, text: `failed: ${e.error}` }] }
    }
    case 'StageInterrupted':
      return update(e.stage, (v) => ({ ...v, status: 'interrupted', durationMs: e.durationMs }))
    case 'StageSkipped':
      return update(e.stage, (v) => ({ ...v, status: 'skipped', detail: e.reason }))
    case 'Progress':
      return update(stageId, (v) => {
        const origin = v.progressOrigin ?? { step: e.step, at }
        const secs = (at - origin.at) / 1000
        const stepsPerSecond = secs > 0 && e.step > origin.step ? (e.step - origin.step) / secs : v.progress?.stepsPerSecond
        return {
          ...v,
          progressOrigin: origin,
          progress: {
            step: e.step,
            totalSteps: e.totalSteps,
            epoch: e.epoch,
            totalEpochs: e.totalEpochs,
            stepsPerSecond,
            samplesPerSecond: e.samplesPerSecond ?? v.progress?.samplesPerSecond,
            at,
          },
        }
      })
    case 'TrainLog':
      return update(stageId, (v) => ({
        ...v,
        train: [...v.train, { step: e.step, epoch: e.epoch, loss: e.loss, learningRate: e.learningRate, samplesPerSecond: e.samplesPerSecond }].slice(-TRAIN_HISTORY),
      }))
    case 'EvalMetrics':
      return update(stageId, (v) => {
        const evals = [...v.evals, { step: e.step, epoch: e.epoch, metrics: e.metrics }]
        // A stage that flags its best evaluation decides; otherwise the lowest loss wins.
        const bestEval = e.best === true ? evals.length - 1 : e.best === false ? v.bestEval : pickBest(evals)
        return { ...v, evals, bestEval }
      })
    case 'Download': {
      const key = `${e.repo}/${e.file}`
      const d: DownloadView = { key, stage: stageId, repo: e.repo, file: e.file, bytes: e.bytes, total: e.total, bytesPerSecond: e.bytesPerSecond, done: e.done ?? false }
      const i = s.downloads.findIndex((x) => x.key === key)
      return { ...s, downloads: i < 0 ? [...s.downloads, d] : s.downloads.map((x, j) => (j === i ? d : x)) }
    }
    case 'Log':
      if (e.level === 'debug' && !s.verbose) return s
      return message(e.level, e.message, stageId)
    case 'RunFinished':
      // Stages still running when the run ends were cut short.
      return {
        ...s,
        runDir: e.runDir,
        finished: { status: e.status, durationMs: e.durationMs },
        stages: s.stages.map((v) => (v.status === 'running' ? { ...v, status: 'interrupted' as const } : v)),
      }
  }
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
  const order = ['loss', 'accuracy', 'f1']
  return [...names].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b))
}
