// Progress is a stream of typed events. The executor and the stages publish them; front ends (the
// Ink UI, the plain line logger, `--json`, the run folder's events.jsonl) subscribe as sinks.
import * as Context from 'effect/Context'
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { redactDeep } from './text/redact.ts'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Events a stage reports about its own work. The executor adds `time` and `stage`. */
export type StageEvent =
  | { readonly _tag: 'Progress'; readonly step: number; readonly totalSteps: number; readonly epoch?: number; readonly totalEpochs?: number; readonly samplesPerSecond?: number; readonly tokensPerSecond?: number }
  | {
      readonly _tag: 'TrainLog'
      readonly step: number
      readonly epoch: number
      readonly loss: number
      readonly learningRate: number
      readonly gradNorm?: number
      readonly samplesPerSecond?: number
      /** Real (not padding) tokens per second. */
      readonly tokensPerSecond?: number
    }
  /** `replayed`: an evaluation made before the checkpoint a resumed run continues from, reported again. */
  | { readonly _tag: 'EvalMetrics'; readonly step: number; readonly epoch: number; readonly metrics: Readonly<Record<string, number>>; readonly best?: boolean; readonly replayed?: boolean }
  | { readonly _tag: 'Download'; readonly repo: string; readonly file: string; readonly bytes: number; readonly total?: number; readonly bytesPerSecond?: number; readonly done?: boolean }
  | { readonly _tag: 'Log'; readonly level: LogLevel; readonly message: string }

export interface StagePlanEntry {
  readonly id: string
  readonly uses: string
  readonly needs: readonly string[]
  /** `compute` for stages that take turns on the CPU (see StageSpec.resource). */
  readonly resource?: 'compute'
}

export type RunEvent =
  | { readonly _tag: 'RunStarted'; readonly time: string; readonly pipeline: string; readonly file: string; readonly runDir: string; readonly stages: readonly StagePlanEntry[] }
  | { readonly _tag: 'StageStarted'; readonly time: string; readonly stage: string; readonly uses: string }
  | { readonly _tag: 'StageFinished'; readonly time: string; readonly stage: string; readonly durationMs: number; readonly outputs: Readonly<Record<string, unknown>> }
  | { readonly _tag: 'StageFailed'; readonly time: string; readonly stage: string; readonly durationMs: number; readonly error: string }
  | { readonly _tag: 'StageInterrupted'; readonly time: string; readonly stage: string; readonly durationMs: number }
  | { readonly _tag: 'StageSkipped'; readonly time: string; readonly stage: string; readonly reason: string }
  | { readonly _tag: 'RunFinished'; readonly time: string; readonly status: 'succeeded' | 'failed' | 'interrupted'; readonly durationMs: number; readonly runDir: string }
  | (StageEvent & { readonly time: string; readonly stage?: string })

export type RunEventTag = RunEvent['_tag']

/** A subscriber. Sinks must not throw; they are called synchronously, in publication order. */
export type EventSink = (event: RunEvent) => void

export class Events extends Context.Tag('lorapipe/Events')<Events, { readonly publish: (event: RunEvent) => Effect.Effect<void> }>() {}

export function eventsLayer(sinks: readonly EventSink[]): Layer.Layer<Events> {
  return Layer.succeed(Events, {
    publish: (event) =>
      Effect.sync(() => {
        // Every event leaves through here (events.jsonl, the terminal, --json): secrets do not.
        const safe = redactDeep(event)
        for (const sink of sinks) sink(safe)
      }),
  })
}

export const now = (): string => new Date().toISOString()
