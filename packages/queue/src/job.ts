// What a trial's job carries and what comes back, as plain JSON through Redis, and the strict
// decoders for each (shape.ts): whatever is read from Redis may have been written by anyone.
//
// A job tells a worker only what a trial must be told: which sweep and trial, the parameter values,
// and the hash of the sweep as its coordinator registered it. It carries no paths, no pipeline and
// no runtime settings: the worker finds the sweep in its own allowed folders, checks the values
// against the sweep file, and builds the trial's run itself (admission.ts).
import type { RunEvent } from '@lorapipe/core'
import type { Assignment } from '@lorapipe/core/sweep/model.ts'
import type { TrialOutcome } from '@lorapipe/core/sweep/coordinator/executor.ts'
import { type Decoder, describeValue, dict, fail, finite, flag, json, list, measure, oneOf, sized, struct, text, whole } from './shape.ts'

export interface TrialJobData {
  /** The job format. */
  readonly v: 1
  /** The sweep's id (registry.ts sweepIdOf): the job's id is `<sweep>-<trial>`. */
  readonly sweep: string
  readonly trial: number
  /** Parameter name -> value (for `together`, the bundle's index). */
  readonly assignment: Assignment
  /** sha256 (hex) of the bytes of the sweep folder's sweep.json when the coordinator queued the trial. */
  readonly sweepHash: string
  /** The coordinator continues a trial that ran before (its run folder is continued either way). */
  readonly resume: boolean
}

/** The largest job (its JSON) a worker reads. */
export const MAX_JOB_BYTES = 64 * 1024
export const MAX_TRIAL = 2 ** 31 - 1
export const SHA256_HEX = /^[0-9a-f]{64}$/

export const sweepIdText = text({ max: 200, pattern: /^[A-Za-z0-9_.-]+$/, what: 'a sweep id (letters, digits, `_`, `.`, `-`)' })
export const sha256Text = text({ max: 64, pattern: SHA256_HEX, what: 'a sha256 in hex (64 characters)' })
const trialNumber = whole(0, MAX_TRIAL)
const assignment = dict(json(8), { maxKeys: 256, keyMax: 512 }) as Decoder<Assignment>

/** The job's data, checked; throws ShapeInvalid naming what is wrong. */
export const decodeTrialJob: Decoder<TrialJobData> = sized(
  struct({ v: oneOf(1), sweep: sweepIdText, trial: trialNumber, assignment, sweepHash: sha256Text, resume: flag }),
  MAX_JOB_BYTES,
  "the job's data",
) as Decoder<TrialJobData>

/** A run event of the trial, tagged with the attempt that produced it (BullMQ's attemptsStarted). */
export interface TrialProgress {
  readonly attempt: number
  readonly event: RunEvent
}

// Run events as they cross Redis: each tag with its own keys, and nothing else.
const line = text({ max: 1000 })
const name = text({ max: 200 })
const path = text({ max: 4096 })
const message = text({ max: 64 * 1024, lines: true })
const time = text({ max: 64 })
const count = finite(0)
const step = whole(0, Number.MAX_SAFE_INTEGER)
const stage = { stage: name }
const EVENT_FIELDS: Record<RunEvent['_tag'], { readonly required: Record<string, Decoder<unknown>>; readonly optional?: Record<string, Decoder<unknown>> }> = {
  RunStarted: {
    required: { time, pipeline: line, file: path, runDir: path, stages: list(struct({ id: name, uses: path, needs: list(name, 1000) }, { resource: oneOf('compute') }), 1000) },
  },
  StageStarted: { required: { time, stage: name, uses: path } },
  StageFinished: { required: { time, stage: name, durationMs: count, outputs: dict(json(8), { maxKeys: 256, keyMax: 200 }) } },
  StageFailed: { required: { time, stage: name, durationMs: count, error: message } },
  StageInterrupted: { required: { time, stage: name, durationMs: count } },
  StageSkipped: { required: { time, stage: name, reason: message } },
  RunFinished: { required: { time, status: oneOf('succeeded', 'failed', 'interrupted'), durationMs: count, runDir: path } },
  Progress: { required: { time, step, totalSteps: count }, optional: { ...stage, epoch: count, totalEpochs: count, samplesPerSecond: measure, tokensPerSecond: measure } },
  TrainLog: { required: { time, step, epoch: count, loss: measure, learningRate: measure }, optional: { ...stage, gradNorm: measure, samplesPerSecond: measure, tokensPerSecond: measure } },
  EvalMetrics: { required: { time, step, epoch: count, metrics: dict(measure, { maxKeys: 256, keyMax: 200 }) }, optional: { ...stage, best: flag, replayed: flag } },
  Download: { required: { time, repo: line, file: path, bytes: count }, optional: { ...stage, total: count, bytesPerSecond: measure, done: flag } },
  Log: { required: { time, level: oneOf('debug', 'info', 'warn', 'error'), message }, optional: stage },
}
const eventDecoders = Object.fromEntries(Object.entries(EVENT_FIELDS).map(([tag, f]) => [tag, struct({ _tag: oneOf(tag), ...f.required }, f.optional)])) as Record<string, Decoder<unknown>>

const runEvent: Decoder<RunEvent> = (v, at) => {
  const tag = typeof v === 'object' && v !== null ? (v as { _tag?: unknown })._tag : undefined
  const d = typeof tag === 'string' && Object.prototype.hasOwnProperty.call(eventDecoders, tag) ? eventDecoders[tag]! : undefined
  if (!d) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(at, `expected an object, got ${describeValue(v)}`)
    return fail(at ? `${at}._tag` : '_tag', `expected ${Object.keys(EVENT_FIELDS).map((t) => JSON.stringify(t)).join(' or ')}, got ${describeValue(tag)}`)
  }
  return d(v, at) as RunEvent
}

/** The largest progress report (its JSON) the coordinator reads. */
export const MAX_PROGRESS_BYTES = 256 * 1024

export const decodeTrialProgress: Decoder<TrialProgress> = sized(struct({ attempt: whole(1, 1_000_000), event: runEvent }), MAX_PROGRESS_BYTES, 'the progress report') as Decoder<TrialProgress>

/**
 * The event as the wire format has it: the keys its tag defines and no others (a custom stage may
 * add its own to what it emits), or undefined for a tag the format does not carry. A worker sends
 * only this, so that the coordinator's strict check passes every event a real trial makes.
 */
export function wireEvent(e: RunEvent): RunEvent | undefined {
  const f = EVENT_FIELDS[e._tag]
  if (!f) return undefined
  const out: Record<string, unknown> = { _tag: e._tag }
  for (const k of [...Object.keys(f.required), ...Object.keys(f.optional ?? {})]) if ((e as Record<string, unknown>)[k] !== undefined) out[k] = (e as Record<string, unknown>)[k]
  return out as RunEvent
}

/** How a trial ended, as its worker returns it. */
export const decodeTrialOutcome: Decoder<TrialOutcome> = (v, at) => {
  const status = typeof v === 'object' && v !== null ? (v as { status?: unknown }).status : undefined
  if (status === 'failed') return struct({ status: oneOf('failed'), error: message })(v, at) as TrialOutcome
  return struct({ status: oneOf('succeeded', 'interrupted') })(v, at) as TrialOutcome
}

/** Why a job ended without a result: said by the worker, read by the coordinator. */
export const STOPPED_BY_COORDINATOR = 'stopped by the coordinator'
