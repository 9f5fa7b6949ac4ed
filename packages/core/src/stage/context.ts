// What a running stage gets: where to write, where relative paths are anchored, its seed, and a
// way to report progress. Stages never touch front ends directly.
import type * as Effect from 'effect/Effect'
import type { LogLevel, StageEvent } from '../events.ts'
import type { RuntimeSection } from '../pipeline/sections/runtime.ts'

export interface StageContext {
  readonly stageId: string
  readonly pipelineName: string
  /** Folder of the pipeline file: relative paths in parameters are resolved from here. */
  readonly pipelineDir: string
  readonly runDir: string
  /** This stage's own folder (created before `run`); outputs go here. */
  readonly dir: string
  readonly seed: number
  readonly runtime: RuntimeSection
  /** Outputs of the stages this one needs, by stage id. */
  readonly inputs: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly emit: (event: StageEvent) => Effect.Effect<void>
  /** The same, for Promise-based stages. */
  readonly emitSync: (event: StageEvent) => void
  readonly log: (message: string, level?: LogLevel) => Effect.Effect<void>
  /** Aborted when the run is interrupted (Ctrl-C); Promise-based stages should watch it. */
  readonly signal: AbortSignal
  /** Resolves a path from the pipeline's folder (absolute paths pass through). */
  readonly resolvePath: (p: string) => string
}
