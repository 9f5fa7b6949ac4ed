// What `lorapipe sweep ... --queue URL` adds to a local sweep: the queue executor in place of the
// local one, with each trial's job carrying only which trial to run with which values and the
// sweep's hash (workers build the trial themselves from the sweep folder), and the sweep marked
// done in the registry when it ends (so idle workers stop looking at it).
import type * as Layer from 'effect/Layer'
import { Redis } from 'ioredis'
import type { TrialExecutor } from '@lorapipe/core/sweep/coordinator/executor.ts'
import type { QueueConnection } from './connection.ts'
import { queueExecutorLayer } from './executor.ts'
import { queueNameOf, setSweepStatus, sweepIdOf } from './registry.ts'
import { queueTuning } from './tuning.ts'

export interface QueuedSweep {
  readonly sweepId: string
  readonly layer: Layer.Layer<TrialExecutor>
  /** Records in the registry how the sweep ended (given up after a few seconds when Redis is away). */
  readonly ended: (finished: boolean) => Promise<void>
}

export function queuedSweep(connection: QueueConnection, sweepName: string, sweepDir: string, retries: number, sweepHash: string): QueuedSweep {
  const sweepId = sweepIdOf(sweepName, sweepDir)
  const tuning = queueTuning()
  return {
    sweepId,
    layer: queueExecutorLayer({ connection, sweepId, sweepName, sweepDir, sweepHash, retries, backoffMs: tuning.backoffMs, pollMs: tuning.pollMs }),
    ended: async (finished) => {
      // One try, quickly: a sweep that ends while Redis is away must still end.
      const redis = new Redis({ ...connection.options, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 })
      redis.on('error', () => undefined)
      try {
        await Promise.race([setSweepStatus(redis, queueNameOf(sweepId), finished ? 'done' : 'stopped'), new Promise((r) => setTimeout(r, 4000))])
      } finally {
        redis.disconnect()
      }
    },
  }
}
