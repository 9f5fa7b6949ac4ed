// From a validated sweep file to what the coordinator runs: the sampler and pruner its method and
// early_terminate name, and each trial's pipeline as the base plus `--set` arguments.
import type { SweepEventSink } from '@lorapipe/core'
import type { ValidatedSweep } from '@lorapipe/core/sweep/file/types.ts'
import { trialSets } from '@lorapipe/core/sweep/file/trial.ts'
import { samplerFor } from '@lorapipe/core/sweep/samplers/method.ts'
import { prunerFor } from '@lorapipe/core/sweep/pruners/early-terminate.ts'
import type { SweepPlan } from '@lorapipe/core/sweep/coordinator/coordinator.ts'

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
    setsOf: (a) => trialSets(sweep, a),
    sinks,
  }
}
