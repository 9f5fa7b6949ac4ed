// A validated pipeline is a different type from raw YAML: only `loadPipeline` makes one, after
// every check has passed, so the compiler and executor never see unchecked input.
import type { Location, SourceTexts } from '../diagnostics.ts'
import type { Sourced, SourceMap } from '../source/document.ts'
import type { CustomStage } from '../stage/define.ts'
import type { OutputSection, RuntimeSection } from './sections/index.ts'
import type { StageSpec } from '../stage/spec.ts'

export interface StageNode {
  readonly id: string
  /** As written in the file: a built-in name or a module path. */
  readonly uses: string
  readonly spec: StageSpec
  /** Set for user modules; built-ins are implemented by the runner. */
  readonly module?: { readonly path: string; readonly stage: CustomStage }
  /** Explicit `needs` plus stages whose outputs the parameters reference. */
  readonly needs: readonly string[]
  /** Parameters after defaults; may still hold `${stages.<id>.outputs.<name>}` references. */
  readonly params: Readonly<Record<string, unknown>>
  readonly location?: Location
  /** Where each parameter was written (file:line:column, or the `--set` argument), by JSON pointer into `params`. */
  readonly places?: SourceMap
}

declare const validated: unique symbol

export interface ValidatedPipeline {
  readonly [validated]: true
  /** Absolute path of the pipeline file. */
  readonly file: string
  readonly dir: string
  readonly name: string
  readonly seed: number
  /** The whole document after extends, vars, env and --set (before stage defaults). */
  readonly resolved: Readonly<Record<string, unknown>>
  readonly runtime: RuntimeSection
  readonly output: OutputSection
  /** Stages in file order. A file without `stages:` is one `finetune` stage (`shortForm`). */
  readonly stages: ReadonlyMap<string, StageNode>
  readonly shortForm: boolean
  /** Every file read (the pipeline first, then what it extends). */
  readonly files: readonly string[]
  readonly texts: SourceTexts
  /** Where each key of `resolved` was written (file:line:column, or the `--set` argument), by JSON pointer. */
  readonly places?: SourceMap
  /** The document after extends and --set, before vars and env are interpolated: what a sweep makes its trials' pipelines from. */
  readonly document: Sourced
}

export function markValidated(p: Omit<ValidatedPipeline, typeof validated>): ValidatedPipeline {
  return p as ValidatedPipeline
}

/** The stage id of a single-job pipeline. */
export const SHORT_FORM_STAGE = 'finetune'
