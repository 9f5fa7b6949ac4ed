// Which stages each tracker follows, from the pipeline, and the one event sink that feeds them.
// A stage with a `trainer` section (finetune, evaluate) follows its own `trainer.report_to`
// (the top-level `trainer:` is already merged in); a stage without one (a custom stage that
// reports training) follows the top-level `trainer.report_to`.
import type { EventSink } from '../events.ts'
import type { ValidatedPipeline } from '../pipeline/types.ts'
import { trainerSchema } from '../pipeline/sections/trainer.ts'
import type { Written } from '../schema/json-schema.ts'
import { withDefaults } from '../schema/validate.ts'
import { redactDeep } from '../text/redact.ts'
import { TRACKER_NAMES, type TrackerName } from './names.ts'
import { trackers } from './registry.ts'
import type { HParamValue, TrackedStage, TrackerSession } from './tracker.ts'

export interface Tracking {
  readonly sink: EventSink
  /** What went wrong while the run lasted, for a warning at its end. */
  readonly problems: () => readonly string[]
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The tracker names of a validated `trainer` section, its defaults filled in. */
const reportTo = (trainer: Readonly<Record<string, unknown>>): readonly TrackerName[] =>
  withDefaults(trainerSchema, trainer as Written<typeof trainerSchema>).report_to.filter((n): n is TrackerName => (TRACKER_NAMES as readonly string[]).includes(n))

/** `{lora: {r: 8}, trainer: {...}}` -> `{'lora.r': 8, ...}`; lists and nulls as JSON text. */
export function flattenSettings(value: Readonly<Record<string, unknown>>, prefix = '', out: Record<string, HParamValue> = {}): Record<string, HParamValue> {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix + k
    if (isRecord(v)) flattenSettings(v, `${key}.`, out)
    else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[key] = v
    else if (v !== undefined) out[key] = JSON.stringify(v)
  }
  return out
}

/** The stages each named tracker follows in `p`; empty when no stage names one. */
export function trackedStages(p: ValidatedPipeline): Map<TrackerName, TrackedStage[]> {
  const top = reportTo(isRecord(p.resolved.trainer) ? p.resolved.trainer : {})
  const out = new Map<TrackerName, TrackedStage[]>()
  for (const node of p.stages.values()) {
    const names = isRecord(node.params.trainer) ? reportTo(node.params.trainer) : top
    // Settings leave the process here too: a token in a field (`${env.HF_TOKEN}`) is cut, as everywhere.
    const config = redactDeep(node.params)
    const stage: TrackedStage = { id: node.id, config, hparams: { seed: p.seed, ...flattenSettings(config) } }
    for (const n of names) out.set(n, [...(out.get(n) ?? []), stage])
  }
  return out
}

/**
 * Opens the trackers the pipeline names, for a run in `runDir`; undefined when it names none.
 * Throws TrackerUnavailable (before anything runs) when one cannot be used.
 */
export function openTracking(p: ValidatedPipeline, runDir: string): Tracking | undefined {
  const sessions: TrackerSession[] = []
  for (const [name, stages] of trackedStages(p)) sessions.push(trackers[name].open({ runDir, stages }))
  if (sessions.length === 0) return undefined
  return {
    sink: (e) => {
      for (const s of sessions) s.event(e)
    },
    problems: () => sessions.flatMap((s) => s.problems()),
  }
}
