// The sweep's one ranking rule, which the leaderboard, best.yaml, the sweep view and the report share.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { bestOf, compareTrials, rankTrials, type RankedTrial } from '../../src/sweep/ranking.ts'

const order = (ts: RankedTrial[], goal: 'maximize' | 'minimize' = 'maximize') => rankTrials(ts, goal, (t) => t).map((t) => t.number)

describe('ranking trials', () => {
  it('puts completed before pruned before running before failed, then the better objective first', () => {
    assert.deepEqual(
      order([
        { number: 0, state: 'failed' },
        { number: 1, state: 'running', objective: 0.99 },
        { number: 2, state: 'pruned', objective: 0.95 },
        { number: 3, state: 'completed', objective: 0.7 },
        { number: 4, state: 'completed', objective: 0.8 },
      ]),
      [4, 3, 2, 1, 0],
    )
    assert.deepEqual(order([{ number: 0, state: 'completed', objective: 0.3 }, { number: 1, state: 'completed', objective: 0.2 }], 'minimize'), [1, 0])
  })

  it('breaks a tie on the objective by cost: fewer optimizer steps, then shorter duration, then the lower trial number', () => {
    assert.deepEqual(
      order([
        { number: 0, state: 'completed', objective: 0.5, steps: 80, durationMs: 1000 },
        { number: 1, state: 'completed', objective: 0.5, steps: 40, durationMs: 3000 },
        { number: 2, state: 'completed', objective: 0.5, steps: 40, durationMs: 2000 },
        { number: 3, state: 'completed', objective: 0.5, steps: 40, durationMs: 2000 },
        { number: 4, state: 'completed', objective: 0.5 },
      ]),
      [2, 3, 1, 0, 4],
    )
  })

  it('orders trials without an objective, and non-finite ones, after those with one, by number', () => {
    assert.deepEqual(order([{ number: 0, state: 'running', steps: 90 }, { number: 1, state: 'running', objective: Number.NaN, steps: 10 }, { number: 2, state: 'running', objective: 0.1 }]), [2, 0, 1])
    assert.deepEqual(order([{ number: 3, state: 'failed', steps: 90 }, { number: 1, state: 'failed', steps: 10 }]), [1, 3])
  })

  it('the best is the first eligible trial with an objective in that order', () => {
    const ts: RankedTrial[] = [
      { number: 0, state: 'completed', objective: 0.5, steps: 80 },
      { number: 1, state: 'completed', objective: 0.5, steps: 40 },
      { number: 2, state: 'pruned', objective: 0.9 },
    ]
    assert.equal(bestOf(ts, 'maximize', (t) => t, (r) => r.state === 'completed')?.number, 1)
    assert.equal(bestOf([{ number: 0, state: 'failed' } as RankedTrial], 'maximize', (t) => t, () => true), undefined)
    assert.equal(compareTrials('maximize')(ts[0]!, ts[0]!), 0)
  })
})
