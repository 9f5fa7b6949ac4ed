import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { TrialState, TrialView } from '../../../src/sweep/model.ts'
import { median, medianPruner, prunerFor } from '../../../src/sweep/pruners/index.ts'

function trial(number: number, values: number[], state: TrialState = 'running'): TrialView {
  return { number, assignment: {}, state, intermediate: new Map(values.map((v, i) => [i + 1, v])) }
}

// Completed trials' losses at evaluations 1..4; medians per evaluation: 0.9, 0.7, 0.55, 0.5.
const completed = [trial(0, [1.0, 0.8, 0.6, 0.5], 'completed'), trial(1, [0.9, 0.7, 0.55, 0.5], 'completed'), trial(2, [0.8, 0.6, 0.5, 0.45], 'completed')]

describe('median pruner (Optuna MedianPruner)', () => {
  it('stops a trial whose best value so far is worse than the median of completed trials at the same evaluation', () => {
    const p = medianPruner({ warmupSteps: 0, startupTrials: 3, minTrials: 1 })
    assert.equal(p.shouldPrune(trial(3, [0.95]), 1, completed, 'minimize'), true)
    assert.equal(p.shouldPrune(trial(3, [0.85]), 1, completed, 'minimize'), false)
    // Worse now (0.75 > 0.7) but its best so far (0.6 at evaluation 1) beats the median: it goes on.
    assert.equal(p.shouldPrune(trial(3, [0.6, 0.75]), 2, completed, 'minimize'), false)
  })

  it('never stops during warm-up evaluations', () => {
    const p = prunerFor({ type: 'median', warmupSteps: 2, startupTrials: 0, minTrials: 1 })
    const hopeless = trial(3, [5, 5, 5, 5])
    assert.deepEqual([1, 2, 3, 4].map((e) => p.shouldPrune(hopeless, e, completed, 'minimize')), [false, false, true, true])
  })

  it('never stops before startup_trials trials have completed; running and pruned trials do not count', () => {
    const p = medianPruner({ warmupSteps: 0, startupTrials: 3, minTrials: 1 })
    const hopeless = trial(5, [5])
    const fewer = [completed[0]!, completed[1]!, trial(3, [0.1], 'pruned'), trial(4, [0.1], 'running')]
    assert.equal(p.shouldPrune(hopeless, 1, fewer, 'minimize'), false)
    assert.equal(p.shouldPrune(hopeless, 1, completed, 'minimize'), true)
  })

  it('goes on when fewer than min_trials completed trials reported at that evaluation', () => {
    const p = medianPruner({ warmupSteps: 0, startupTrials: 1, minTrials: 2 })
    const short = [trial(0, [0.9], 'completed'), trial(1, [0.8, 0.7], 'completed')]
    assert.equal(p.shouldPrune(trial(2, [5, 5]), 2, short, 'minimize'), false)
    assert.equal(p.shouldPrune(trial(2, [5]), 1, short, 'minimize'), true)
  })

  it('maximising, stops a trial below the median', () => {
    const p = medianPruner({ warmupSteps: 0, startupTrials: 1, minTrials: 1 })
    const acc = [trial(0, [0.6, 0.7], 'completed'), trial(1, [0.7, 0.8], 'completed')]
    assert.equal(p.shouldPrune(trial(2, [0.5, 0.74]), 2, acc, 'maximize'), true)
    assert.equal(p.shouldPrune(trial(2, [0.5, 0.76]), 2, acc, 'maximize'), false)
  })

  it('takes the median as numpy does: NaN ignored, the middle two averaged', () => {
    assert.equal(median([3, 1, 2]), 2)
    assert.equal(median([4, 1, 3, 2]), 2.5)
    assert.equal(median([NaN, 1, 3]), 2)
    assert.ok(Number.isNaN(median([])))
  })
})
