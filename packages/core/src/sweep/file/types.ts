// A validated sweep is a different type from the YAML it came from: only `loadSweep` makes one,
// after the file, its base pipeline and every trial pipeline it can produce have been checked.
import * as Data from 'effect/Data'
import { type Diagnostic, formatDiagnostics, type SourceTexts } from '../../diagnostics.ts'
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import type { EarlyTerminate, Goal, SearchMethod, SearchSpace } from '../model.ts'
import type { EvalMetricKey } from './schema.ts'

/** The sweep file (or its base pipeline) is invalid; every diagnostic found is listed. Exit 2. */
export class SweepInvalid extends Data.TaggedError('SweepInvalid')<{
  /** The sweep file, as shown in messages. */
  readonly file: string
  readonly diagnostics: readonly Diagnostic[]
}> {
  override get message(): string {
    return formatDiagnostics(this.diagnostics)
  }
}

/** The source texts of the sweep file and its base, for code frames (`formatDiagnostics(e.diagnostics, sweepTextsOf(e))`). */
export function sweepTextsOf(e: SweepInvalid): SourceTexts | undefined {
  return (e as unknown as { texts?: SourceTexts }).texts
}

export function withTexts(e: SweepInvalid, texts: SourceTexts): SweepInvalid {
  Object.defineProperty(e, 'texts', { value: texts, enumerable: false })
  return e
}

/** The objective: which stage's evaluations, which metric of them, and which way is better. */
export interface SweepMetric {
  /** As written in the sweep file: `eval_accuracy`, `lora.eval_f1`. */
  readonly name: string
  /** The base pipeline's stage whose EvalMetrics events (and `metrics.json`) hold it. */
  readonly stage: string
  /** Key in an EvalMetrics event's `metrics` and in `metrics.json`'s `eval` record. */
  readonly key: EvalMetricKey
  readonly goal: Goal
  /** Stop the sweep once a finished trial reaches it. */
  readonly target?: number
}

declare const validated: unique symbol

export interface ValidatedSweep {
  readonly [validated]: true
  /** `name:`, or the file name without its extension. */
  readonly name: string
  readonly description?: string
  /** Absolute path of the sweep file, and its folder. */
  readonly file: string
  readonly dir: string
  /** Absolute path of the base pipeline file. */
  readonly base: string
  /** `--set` arguments for the base given on the command line; every trial gets them, before its parameters. */
  readonly sets: readonly string[]
  /** The base pipeline with `sets` applied (what a trial is before its parameters). */
  readonly basePipeline: ValidatedPipeline
  readonly method: SearchMethod
  readonly metric: SweepMetric
  /** Parameters in file order (a `together` bundle under its label). */
  readonly space: SearchSpace
  /**
   * For each parameter, the pipeline paths it sets (one for a path parameter, the bundle's keys for
   * `together`); a path is `lora.r` or `stages.lora.with.lora.r`.
   */
  readonly paths: ReadonlyMap<string, readonly string[]>
  readonly runCap?: number
  /**
   * For `grid`: distinct combinations (a repeated value counts once). Trials run: this, or
   * `runCap` when smaller. Undefined for random and TPE.
   */
  readonly gridSize?: number
  readonly seed: number
  readonly earlyTerminate?: EarlyTerminate
  readonly maxConsecutiveFailures: number
  /** `concurrency:` from the file; the command line's `--concurrency` wins. */
  readonly concurrency?: number
  /** The sweep file as written (parsed YAML), to keep beside the results. */
  readonly document: Readonly<Record<string, unknown>>
  /** Source texts of the sweep file and the base, for code frames in later messages. */
  readonly texts: SourceTexts
  /** Parameters and `--set` arguments that another setting of the base makes ineffective (`trainer.epochs` under `max_steps`). */
  readonly warnings: readonly Diagnostic[]
}

export function markValidated(s: Omit<ValidatedSweep, typeof validated>): ValidatedSweep {
  return s as ValidatedSweep
}
