// Helpers for sampler tests: trial records and a loop that runs a sampler against an objective.
import type { Assignment, Goal, Sampler, SearchSpace, TrialState, TrialView } from '../../../src/sweep/model.ts'

export function trial(number: number, assignment: Assignment, state: TrialState = 'completed', value?: number, intermediate: [number, number][] = []): TrialView {
  return { number, assignment, state, ...(value === undefined ? {} : { value }), intermediate: new Map(intermediate) }
}

/** Runs `n` sequential trials of `sampler` on `objective`, each completed before the next is drawn. */
export function optimise(sampler: Sampler, space: SearchSpace, objective: (a: Assignment) => number, n: number, goal: Goal = 'minimize'): TrialView[] {
  const history: TrialView[] = []
  for (let i = 0; i < n; i++) {
    const a = sampler.next(space, history, goal)
    if (a === undefined) break
    history.push(trial(i, a, 'completed', objective(a)))
  }
  return history
}
