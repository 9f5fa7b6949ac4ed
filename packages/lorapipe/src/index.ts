// The API a user's stage module imports as `lorapipe` (`@lorapipe/core` names the same module):
// defining a stage, writing its files atomically, and the types of its context, outputs, events
// and metrics. Each name comes from its own module, not core's index, so that the commands,
// bundled with this file, load only what they use (`validate` loads no Effect Schema).
export { defineStage, type CustomStage, type DefineStageInput } from '@lorapipe/core/stage/define.ts'
export type { StageContext } from '@lorapipe/core/stage/context.ts'
export type { StageSpec, StageDefinition, StageOutputs, StageRun, StageResource } from '@lorapipe/core/stage/spec.ts'
export { writeFileAtomic, writeJsonAtomic } from '@lorapipe/core/fs/atomic.ts'
export type { RunEvent, StageEvent, LogLevel } from '@lorapipe/core/events.ts'
export type { RunMetrics, EvalRecord, TrainRecord } from '@lorapipe/core/run/metrics.ts'
export type { JSONSchema } from '@lorapipe/core/schema/json-schema.ts'
export { createSearch, SearchInvalid, SearchMisuse, SearchExhausted } from '@lorapipe/core/sweep/search/search.ts'
export type { Search, SearchOptions, SearchParameter, SearchParameters, AskedTrial, SearchTrial, TrialEnd, PastTrial } from '@lorapipe/core/sweep/search/search.ts'
export type { Goal, SearchMethod, TrialState } from '@lorapipe/core/sweep/model.ts'

// The programmatic API (README: "Using lorapipe from code"): load and validate a pipeline (a file
// or an object), run it and receive its events, run a sweep. What runs loads on first use
// (dynamic imports), so a stage module that imports `lorapipe` loads none of it.
export { InvalidInput, type Diagnostic, type Location } from './api/errors.ts'
export { loadPipeline, validatePipeline, type LoadPipelineOptions, type Pipeline, type PipelineDocument, type PipelineSource, type Validation } from './api/pipeline.ts'
export { runPipeline, type RunHandle, type RunOutcome, type RunPipelineOptions, type StageOutcome } from './api/run.ts'
export { runSweep, type Leaderboard, type LeaderboardRow, type RunSweepOptions, type SweepEvent, type SweepHandle, type SweepOutcome, type SweepStatus } from './api/sweep.ts'
export type { Running } from './api/stream.ts'
