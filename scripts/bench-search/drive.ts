// Drives a sampler as the sweep coordinator does: through the ask/tell search
// (packages/core/src/sweep/search/search.ts) that the coordinator asks, which shows the sampler
// every trial so far, running ones included (asked, not yet told).
import type { Sampler } from '../../packages/core/src/sweep/model.ts'
import { openSearch } from '../../packages/core/src/sweep/search/search.ts'
import { assignmentOf } from '../../packages/core/src/sweep/search/space.ts'
import type { Problem } from './problems.ts'

export interface Run {
  /** Best value found after each completed trial (index k: after k + 1 trials). */
  readonly bestSoFar: number[]
  /**
   * CPU milliseconds of each `ask`, in order (process CPU time, not wall-clock: other work on a
   * busy machine does not count; the samplers use one thread).
   */
  readonly askMs: number[]
}

/**
 * `trials` trials with `inFlight` of them running at a time: the search is asked while the others
 * are still running, and the oldest running trial is told before the next ask (1: sequential).
 */
export function drive(sampler: Sampler, problem: Problem, trials: number, inFlight = 1): Run {
  const search = openSearch({ method: sampler.name, goal: 'minimize', space: problem.space, sampler })
  const running: { number: number; params: Readonly<Record<string, unknown>> }[] = []
  const bestSoFar: number[] = []
  const askMs: number[] = []
  let best = Infinity
  const complete = () => {
    const t = running.shift()!
    // The problems are written over assignments (a `together` parameter as its bundle's index).
    const a = assignmentOf(problem.space, t.params)
    if (!a.ok) throw new Error(`${sampler.name} asked params outside ${problem.name}'s space: ${a.problems.join('; ')}`)
    const value = problem.f(a.assignment)
    search.tell(t.number, value)
    best = Math.min(best, value)
    bestSoFar.push(best)
  }
  for (let n = 0; n < trials; n++) {
    if (running.length >= inFlight) complete()
    const t0 = process.cpuUsage()
    const t = search.ask()
    const dt = process.cpuUsage(t0)
    askMs.push((dt.user + dt.system) / 1000)
    running.push(t)
  }
  while (running.length > 0) complete()
  return { bestSoFar, askMs }
}
