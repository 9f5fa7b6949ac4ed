// What `lorapipe sweep ... --queue URL` adds to a local sweep: the queue executor in place of the
// local one, with each trial's job carrying its fully resolved pipeline, and the sweep marked done
// in the registry when it ends (so idle workers stop looking at it).
import { dirname } from 'node:path'
import * as Effect from 'effect/Effect'
import type * as Layer from 'effect/Layer'
import { stringify } from 'yaml'
import { formatDiagnostics, loadPipeline } from '@lorapipe/core'
import { absolutePaths } from '@lorapipe/core/sweep/coordinator/best.ts'
import type { TrialExecutor, TrialSpec } from '@lorapipe/core/sweep/coordinator/executor.ts'
import { type QueueConnection, redisClient } from './connection.ts'
import { queueExecutorLayer } from './executor.ts'
import { queueNameOf, setSweepStatus, sweepIdOf } from './registry.ts'
import { queueTuning } from './tuning.ts'

/** A trial's pipeline as a worker runs it: the base with the trial's --set values, resolved, paths absolute, hub ids kept. */
export async function resolvedTrialPipeline(spec: TrialSpec): Promise<string> {
  const r = await Effect.runPromise(Effect.either(loadPipeline(spec.pipeline.file, { sets: spec.pipeline.sets })))
  if (r._tag === 'Left') throw new Error(`trial ${spec.trial}'s pipeline does not validate:\n${formatDiagnostics(r.left.diagnostics)}`)
  const doc = absolutePaths({ ...r.right.resolved }, dirname(spec.pipeline.file))
  return `# trial ${spec.trial} of the sweep ${spec.sweep}, resolved from ${spec.pipeline.file}${spec.pipeline.sets.length ? ` with ${spec.pipeline.sets.map((s) => `--set ${s}`).join(' ')}` : ''}\n${stringify(doc)}`
}

export interface QueuedSweep {
  readonly sweepId: string
  readonly layer: Layer.Layer<TrialExecutor>
  /** Records in the registry how the sweep ended. */
  readonly ended: (finished: boolean) => Promise<void>
}

export function queuedSweep(connection: QueueConnection, sweepName: string, sweepDir: string, retries: number): QueuedSweep {
  const sweepId = sweepIdOf(sweepName, sweepDir)
  const tuning = queueTuning()
  return {
    sweepId,
    layer: queueExecutorLayer({ connection, sweepId, sweepName, sweepDir, retries, backoffMs: tuning.backoffMs, pollMs: tuning.pollMs, pipelineOf: resolvedTrialPipeline }),
    ended: async (finished) => {
      const redis = redisClient(connection)
      redis.on('error', () => undefined)
      try {
        await setSweepStatus(redis, queueNameOf(sweepId), finished ? 'done' : 'stopped')
      } finally {
        redis.disconnect()
      }
    },
  }
}
