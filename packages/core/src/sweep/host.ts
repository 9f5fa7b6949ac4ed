// What the `uses: sweep` stage (./stage.ts) needs from the program that runs the pipeline, which
// core cannot know: the lorapipe launcher that runs each trial, the checks `run` makes of a
// trial's files (the runner's preflight), how the sweep shows as the stage's log, and its report.
// `lorapipe run` provides them as a service next to the built-in stages.
import * as Context from 'effect/Context'
import type { Diagnostic } from '../diagnostics.ts'
import type { ValidatedPipeline } from '../pipeline/types.ts'
import type { StageContext } from '../stage/context.ts'
import type { SweepEventSink } from './events.ts'

export interface SweepStageDeps {
  /** The lorapipe entry script that runs each trial. */
  readonly entry: string
  /** The checks `run` makes of a pipeline's files before it writes anything, for each trial. */
  readonly checkFiles?: (pipeline: ValidatedPipeline) => Promise<readonly Diagnostic[]>
  /** How the sweep's events show as the stage's own (log lines, trials done as progress). */
  readonly progress: (ctx: StageContext, totalTrials: number | undefined) => SweepEventSink
  /** Writes the sweep's report.html when this installation can; a failure for want of room is thrown. */
  readonly writeReport: (dir: string) => Promise<string | undefined>
}

export class SweepStageHost extends Context.Tag('lorapipe/SweepStageHost')<SweepStageHost, SweepStageDeps>() {}
