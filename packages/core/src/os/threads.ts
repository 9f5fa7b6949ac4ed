// How many threads lorapipe may use on this machine: LORAPIPE_THREADS when set (a share of the
// machine, so that processes sharing it can split it), else every core. The backend sizes its
// pools with it; a sweep or a worker divides it between the trials it runs at once.
import { availableParallelism } from 'node:os'

export function machineThreads(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const fromEnv = Number(env.LORAPIPE_THREADS)
  return Number.isFinite(fromEnv) && fromEnv >= 1 ? Math.floor(fromEnv) : availableParallelism()
}
