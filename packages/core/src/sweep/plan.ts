// From a validated sweep file to what the coordinator runs: the sampler and pruner its method and
// early_terminate name, and each trial's pipeline as the base with the trial's values (./trial.ts).
import type { SweepEventSink } from './events.ts'
import type { ValidatedSweep } from './file/types.ts'
import { samplerFor } from './samplers/method.ts'
import { prunerFor } from './pruners/early-terminate.ts'
import type { SweepPlan } from './coordinator/coordinator.ts'
import { trialPipeline } from './trial.ts'

export function sweepPlan(sweep: ValidatedSweep, dir: string, concurrency: number, sinks: readonly SweepEventSink[]): SweepPlan {
  return {
    sweep: sweep.name,
    file: sweep.file,
    dir,
    method: sweep.method,
    space: sweep.space,
    sampler: samplerFor(sweep.method, sweep.seed),
    pruner: sweep.earlyTerminate ? prunerFor(sweep.earlyTerminate) : undefined,
    metric: sweep.metric,
    runCap: sweep.runCap,
    totalTrials: sweep.gridSize,
    maxConsecutiveFailures: sweep.maxConsecutiveFailures,
    concurrency,
    base: sweep.base,
    trialPipeline: (a) => trialPipeline(sweep, a),
    sets: sweep.sets,
    sinks,
  }
}
