// Drives a sampler as the sweep coordinator does: `Sampler.next(space, history, goal)` with every
// trial so far (running ones included, as state 'running'), one assignment per call.
import type { Sampler, TrialView } from '../../packages/core/src/sweep/model.ts'
import type { Problem } from './problems.ts'

export interface Run {
  /** Best value found after each completed trial (index k: after k + 1 trials). */
  readonly bestSoFar: number[]
  /**
   * CPU milliseconds of each `next` call, in order (process CPU time, not wall-clock: other work
   * on a busy machine does not count; the samplers use one thread).
   */
  readonly askMs: number[]
}

const view = (number: number, assignment: TrialView['assignment'], state: TrialView['state'], value?: number): TrialView => ({
  number,
  assignment,
  state,
  ...(value === undefined ? {} : { value }),
  intermediate: new Map(),
})

/**
 * `trials` trials with `inFlight` of them running at a time: the sampler is asked while the others
 * are still running, and the oldest running trial completes before the next ask (1: sequential).
 */
export function drive(sampler: Sampler, problem: Problem, trials: number, inFlight = 1): Run {
  const history: TrialView[] = []
  const running: number[] = []
  const bestSoFar: number[] = []
  const askMs: number[] = []
  let best = Infinity
  const complete = () => {
    const n = running.shift()!
    const t = history[n]!
    const value = problem.f(t.assignment)
    history[n] = view(n, t.assignment, 'completed', value)
    best = Math.min(best, value)
    bestSoFar.push(best)
  }
  for (let n = 0; n < trials; n++) {
    if (running.length >= inFlight) complete()
    const t0 = process.cpuUsage()
    const a = sampler.next(problem.space, history, 'minimize')
    const dt = process.cpuUsage(t0)
    askMs.push((dt.user + dt.system) / 1000)
    if (a === undefined) throw new Error(`${sampler.name} ended the search after ${n} trials`)
    history.push(view(n, a, 'running'))
    running.push(n)
  }
  while (running.length > 0) complete()
  return { bestSoFar, askMs }
}
