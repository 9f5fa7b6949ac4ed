import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Goal, Pruner, TrialState, TrialView } from '../../../src/sweep/model.ts'
import { ashaPruner, noPruner, prunerFor } from '../../../src/sweep/pruners/index.ts'

function trial(number: number, values: number[], state: TrialState = 'running'): TrialView {
  return { number, assignment: {}, state, intermediate: new Map(values.map((v, i) => [i + 1, v])) }
}

/**
 * Runs trials one after another as a sweep with concurrency 1 would: each reports `curve[e - 1]`
 * after evaluation e and is asked whether to stop. Returns, per trial, the evaluation it was
 * stopped at (undefined: it ran to the end).
 */
function sweep(pruner: Pruner, curves: number[][], goal: Goal = 'maximize'): (number | undefined)[] {
  const history: TrialView[] = []
  return curves.map((curve, number) => {
    const reported: number[] = []
    let stoppedAt: number | undefined
    for (let e = 1; e <= curve.length; e++) {
      reported.push(curve[e - 1]!)
      if (pruner.shouldPrune(trial(number, reported), e, history, goal)) {
        stoppedAt = e
        break
      }
    }
    history.push(trial(number, reported, stoppedAt === undefined ? 'completed' : 'pruned'))
    return stoppedAt
  })
}

const flat = (v: number, n = 9) => new Array<number>(n).fill(v)

describe('ASHA pruner (asynchronous successive halving)', () => {
  it('stops hopeless trials (accuracy 0.5, as with a learning rate of 1.0) at the first rung', () => {
    const asha = prunerFor({ type: 'asha', minSteps: 1, reductionFactor: 3 })
    const curves = [[0.7, 0.8, 0.85, 0.86], [0.72, 0.82, 0.86, 0.87], [0.69, 0.79, 0.84, 0.85], flat(0.5, 4), flat(0.5, 4), [0.71, 0.8, 0.86, 0.88], flat(0.49, 4)]
    const stopped = sweep(asha, curves)
    assert.deepEqual([stopped[3], stopped[4], stopped[6]], [1, 1, 1])
  })

  it('never stops a trial that is the best at every rung', () => {
    const asha = ashaPruner({ minSteps: 1, reductionFactor: 2 })
    const curves = [[0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7], [0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]]
    assert.deepEqual(sweep(asha, curves), [undefined, 1, undefined, undefined])
  })

  it('checks only at rungs min_steps * reduction_factor^k (here evaluations 2, 6, 18), below max_steps', () => {
    const asha = ashaPruner({ minSteps: 2, reductionFactor: 3 })
    const others = [trial(0, flat(0.9, 20), 'completed'), trial(1, flat(0.9, 20), 'completed'), trial(2, flat(0.9, 20), 'completed')]
    const bad = trial(3, flat(0.1, 20))
    const checks = Array.from({ length: 20 }, (_, i) => i + 1).filter((e) => asha.shouldPrune(bad, e, others, 'maximize'))
    assert.deepEqual(checks, [2, 6, 18])
    const capped = ashaPruner({ minSteps: 2, reductionFactor: 3, maxSteps: 18 })
    assert.deepEqual(Array.from({ length: 20 }, (_, i) => i + 1).filter((e) => capped.shouldPrune(bad, e, others, 'maximize')), [2, 6])
  })

  it('keeps the top 1/reduction_factor of the trials at a rung, itself included', () => {
    const asha = ashaPruner({ minSteps: 1, reductionFactor: 3 })
    // Nine trials reached rung 0 with 1..9; with the newcomer, 10 values: the best floor(10/3) = 3 go on.
    const reached = Array.from({ length: 9 }, (_, i) => trial(i, [i + 1], 'pruned'))
    assert.equal(asha.shouldPrune(trial(9, [7.5]), 1, reached, 'maximize'), false, '9, 8, 7.5: third of ten')
    assert.equal(asha.shouldPrune(trial(9, [7]), 1, reached, 'maximize'), false, 'a tie with the 3rd best goes on')
    assert.equal(asha.shouldPrune(trial(9, [6.5]), 1, reached, 'maximize'), true, 'fourth of ten')
    // Minimising, the smallest 3 go on.
    assert.equal(asha.shouldPrune(trial(9, [2.5]), 1, reached, 'minimize'), false)
    assert.equal(asha.shouldPrune(trial(9, [3.5]), 1, reached, 'minimize'), true)
  })

  it('with fewer trials at a rung than reduction_factor, goes on only as the best so far (Optuna rule); the first always goes on', () => {
    const asha = ashaPruner({ minSteps: 1, reductionFactor: 4 })
    assert.equal(asha.shouldPrune(trial(0, [0.1]), 1, [], 'maximize'), false)
    const one = [trial(0, [0.5], 'completed')]
    assert.equal(asha.shouldPrune(trial(1, [0.5]), 1, one, 'maximize'), false)
    assert.equal(asha.shouldPrune(trial(1, [0.4]), 1, one, 'maximize'), true)
  })

  it('compares with every trial that reached the rung, pruned and failed ones included, and not with itself', () => {
    const asha = ashaPruner({ minSteps: 1, reductionFactor: 2 })
    const me = trial(2, [0.6])
    assert.equal(asha.shouldPrune(me, 1, [trial(0, [0.9], 'pruned'), trial(1, [0.95], 'failed'), me], 'maximize'), true)
    assert.equal(asha.shouldPrune(me, 1, [me], 'maximize'), false)
  })

  it('stops a trial whose value is NaN at a rung', () => {
    assert.equal(ashaPruner({ minSteps: 1, reductionFactor: 2 }).shouldPrune(trial(0, [NaN]), 1, [], 'minimize'), true)
  })

  it('refuses settings that make no rungs', () => {
    assert.throws(() => ashaPruner({ minSteps: 0, reductionFactor: 3 }), /min_steps/)
    assert.throws(() => ashaPruner({ minSteps: 1, reductionFactor: 1 }), /reduction_factor/)
  })

  it('none never stops a trial', () => {
    assert.deepEqual(sweep(noPruner(), [flat(0.9), flat(0.1), flat(0.0)]), [undefined, undefined, undefined])
    assert.equal(prunerFor(undefined).name, 'none')
  })
})
