// A run as a pure function of its events: `reduceRun(view, event)` for a live stream, `foldRun(events)`
// for a whole events.jsonl (which grows across resumed runs: the latest plan and each stage's
// last attempt win). The terminal UI, the report and the sweep UI's trial panels all read it.
// Times come from the events, never the clock. What a front end shows of it (which evaluation
// it stars, how many points it draws, which lines it prints) is that front end's choice.
import type { RunEvent, StagePlanEntry } from '../events.ts'
import { copying, inPlace, type Lists } from './lists.ts'

export type StageStatus = 'waiting' | 'running' | 'done' | 'failed' | 'skipped' | 'interrupted'

export interface ProgressView {
  readonly step: number
  readonly totalSteps: number
  readonly epoch?: number
  readonly totalEpochs?: number
  /** Steps per second and samples per second since the stage's first progress report. */
  readonly stepsPerSecond?: number
  readonly samplesPerSecond?: number
  /** Real tokens per second since the start of training (causal LMs). */
  readonly tokensPerSecond?: number
  /** Time of this report (ms since the epoch), so elapsed time and ETA can be extrapolated. */
  readonly at: number
}

export interface TrainPoint {
  readonly step: number
  readonly epoch: number
  readonly loss: number
  readonly learningRate: number
  readonly samplesPerSecond?: number
  readonly tokensPerSecond?: number
}

export interface EvalRow {
  readonly step: number
  readonly epoch: number
  readonly metrics: Readonly<Record<string, number>>
  /** The stage's own verdict on this evaluation, when it gave one. */
  readonly best?: boolean
}

export interface StageView {
  readonly id: string
  readonly uses: string
  readonly needs: readonly string[]
  /** `compute`: waits for its turn while another compute stage runs. */
  readonly resource?: 'compute'
  readonly status: StageStatus
  readonly startedAt?: number
  /** Of the last attempt that ended (a stage a resumed run reuses keeps the time it took). */
  readonly durationMs?: number
  /** Why it failed or was skipped. */
  readonly detail?: string
  readonly outputs?: Readonly<Record<string, unknown>>
  readonly progress?: ProgressView
  /** First progress report of this attempt: the origin for rates. */
  readonly progressOrigin?: { readonly step: number; readonly at: number }
  /** Training logs of this attempt (the latest `trainHistory` of them, when the view was made with one). */
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

export interface RunViewOptions {
  /** Training points kept per stage, the latest: a live view of a 100k-step run stays small. All when absent. */
  readonly trainHistory?: number
}

export interface RunView {
  readonly pipeline?: string
  readonly file?: string
  readonly runDir?: string
  /** The latest run's plan first, in its order, then any other stage seen. */
  readonly stages: readonly StageView[]
  readonly downloads: readonly DownloadView[]
  /** How the latest run ended; absent while it runs. */
  readonly finished?: { readonly status: 'succeeded' | 'failed' | 'interrupted'; readonly durationMs: number }
  readonly options: RunViewOptions
}

export function initialRunView(options: RunViewOptions = {}): RunView {
  return { stages: [], downloads: [], options }
}

/** `eval_loss` and `loss` name the same thing. */
export function metricOf(row: EvalRow, name: string): number | undefined {
  return row.metrics[name] ?? row.metrics[`eval_${name}`]
}

const emptyStage = (s: StagePlanEntry): StageView => ({ id: s.id, uses: s.uses, needs: s.needs, ...(s.resource ? { resource: s.resource } : {}), status: 'waiting', train: [], evals: [] })

/** The lowest finite loss; without losses, the highest accuracy (a baseline that only measures accuracy). */
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

/** The view after `event`; `view` is left as it was. */
export const reduceRun = (view: RunView, event: RunEvent): RunView => runStep(view, event, copying)

/** The view after `events`, built in place on `from` (a fresh view by default; else one only the caller holds). */
export function foldRun(events: Iterable<RunEvent>, from: RunView = initialRunView()): RunView {
  let view = from
  for (const e of events) view = runStep(view, e, inPlace)
  return view
}

/** One event's change, with the lists copied or changed in place. */
export function runStep(v: RunView, e: RunEvent, lists: Lists): RunView {
  const at = Date.parse(e.time)
  const update = (id: string | undefined, f: (s: StageView) => StageView): RunView => {
    if (id === undefined) return v
    const i = v.stages.findIndex((s) => s.id === id)
    // A stage the plan did not announce (events replayed out of order): shown anyway.
    if (i < 0) return { ...v, stages: lists.add(v.stages, f(emptyStage({ id, uses: '?', needs: [] }))) }
    return { ...v, stages: lists.put(v.stages, i, f(v.stages[i]!)) }
  }
  switch (e._tag) {
    case 'RunStarted': {
      // A resumed run plans again: its stages first, each keeping what earlier runs recorded.
      const planned = e.stages.map((p) => {
        const s = v.stages.find((x) => x.id === p.id)
        return s ? { ...s, uses: p.uses, needs: p.needs, resource: p.resource } : emptyStage(p)
      })
      const others = v.stages.filter((s) => !e.stages.some((p) => p.id === s.id))
      return { ...v, pipeline: e.pipeline, file: e.file, runDir: e.runDir, finished: undefined, stages: [...planned, ...others] }
    }
    case 'StageStarted':
      // A fresh attempt: forget the progress of an earlier one, not the time and outputs it left.
      return update(e.stage, (s) => ({ ...emptyStage(s), uses: e.uses, status: 'running', startedAt: at, durationMs: s.durationMs, outputs: s.outputs }))
    case 'StageFinished':
      // A resumed run reports a reused stage as finished in 0 ms: it keeps the real duration.
      return update(e.stage, (s) => ({ ...s, status: 'done', outputs: e.outputs, durationMs: e.durationMs > 0 || s.durationMs === undefined ? e.durationMs : s.durationMs }))
    case 'StageFailed':
      return update(e.stage, (s) => ({ ...s, status: 'failed', durationMs: e.durationMs, detail: e.error }))
    case 'StageInterrupted':
      return update(e.stage, (s) => ({ ...s, status: 'interrupted', durationMs: e.durationMs }))
    case 'StageSkipped':
      return update(e.stage, (s) => ({ ...s, status: 'skipped', detail: e.reason }))
    // A stage's own report (progress, training log, evaluation) without a stage name belongs to none.
    case 'Progress':
      return update(e.stage || undefined, (s) => {
        const origin = s.progressOrigin ?? { step: e.step, at }
        const secs = (at - origin.at) / 1000
        const stepsPerSecond = secs > 0 && e.step > origin.step ? (e.step - origin.step) / secs : s.progress?.stepsPerSecond
        const samplesPerSecond = e.samplesPerSecond ?? s.progress?.samplesPerSecond
        const tokensPerSecond = e.tokensPerSecond ?? s.progress?.tokensPerSecond
        return { ...s, progressOrigin: origin, progress: { step: e.step, totalSteps: e.totalSteps, epoch: e.epoch, totalEpochs: e.totalEpochs, stepsPerSecond, samplesPerSecond, ...(tokensPerSecond !== undefined ? { tokensPerSecond } : {}), at } }
      })
    case 'TrainLog': {
      const point = { step: e.step, epoch: e.epoch, loss: e.loss, learningRate: e.learningRate, samplesPerSecond: e.samplesPerSecond, ...(e.tokensPerSecond !== undefined ? { tokensPerSecond: e.tokensPerSecond } : {}) }
      return update(e.stage || undefined, (s) => ({ ...s, train: lists.add(s.train, point, v.options.trainHistory) }))
    }
    case 'EvalMetrics':
      return update(e.stage || undefined, (s) => {
        const evals = lists.add(s.evals, { step: e.step, epoch: e.epoch, metrics: e.metrics, ...(e.best !== undefined ? { best: e.best } : {}) })
        // A stage that flags its best evaluation decides; otherwise the lowest loss wins.
        return { ...s, evals, bestEval: e.best === true ? evals.length - 1 : e.best === false ? s.bestEval : pickBest(evals) }
      })
    case 'Download': {
      const key = `${e.repo}/${e.file}`
      const d: DownloadView = { key, stage: e.stage, repo: e.repo, file: e.file, bytes: e.bytes, total: e.total, bytesPerSecond: e.bytesPerSecond, done: e.done ?? false }
      const i = v.downloads.findIndex((x) => x.key === key)
      return { ...v, downloads: i < 0 ? lists.add(v.downloads, d) : lists.put(v.downloads, i, d) }
    }
    case 'Log':
      return v
    case 'RunFinished':
      // Stages still running when the run ends were cut short.
      return {
        ...v,
        runDir: e.runDir,
        finished: { status: e.status, durationMs: e.durationMs },
        stages: v.stages.map((s) => (s.status === 'running' ? { ...s, status: 'interrupted' as const } : s)),
      }
  }
}
