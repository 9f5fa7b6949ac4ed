import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { SearchSpace } from '../../../src/sweep/model.ts'
import { GridDomainUnsupported, canonicalKey, gridAccepts, gridCount, gridSampler, gridSize, samplerFor } from '../../../src/sweep/samplers/index.ts'
import { trial } from './support.ts'

const space: SearchSpace = [
  { name: 'lora.r', domain: { kind: 'categorical', choices: [8, 16, 8] } },
  { name: 'lora.target_modules', domain: { kind: 'categorical', choices: [['q_lin', 'v_lin'], 'all-linear', ['q_lin', 'v_lin']] } },
  { name: 'trainer.epochs', domain: { kind: 'constant', value: 1 } },
  {
    name: 'scale',
    domain: {
      kind: 'together',
      bundles: [
        { 'lora.alpha': 16, 'trainer.learning_rate': 0.001 },
        { 'lora.alpha': 32, 'trainer.learning_rate': 0.0005 },
        { 'trainer.learning_rate': 0.001, 'lora.alpha': 16 },
      ],
    },
  },
]

/** Draws until the grid says it is exhausted, each draw recorded as a completed trial. */
function drain(s = gridSampler()) {
  const history = []
  for (let a = s.next(space, [], 'maximize'); a !== undefined; a = s.next(space, history, 'maximize')) {
    history.push(trial(history.length, a))
    assert.ok(history.length <= 100, 'the grid never ends')
  }
  return history.map((t) => t.assignment)
}

describe('grid search', () => {
  it('counts each distinct value once: repeated values, equal lists and equal bundles (keys in any order) are one', () => {
    assert.equal(gridSize(space), 2 * 2 * 1 * 2)
  })

  it('counts a grid past 2^53 combinations exactly', () => {
    const axis = (i: number) => ({ name: `p${i}`, domain: { kind: 'categorical' as const, choices: Array.from({ length: 999 }, (_, k) => k) } })
    const big: SearchSpace = [0, 1, 2, 3, 4, 5].map(axis)
    // 999^6 is odd and past 2^53: a product of numbers would round it.
    assert.equal(gridCount(big), 999n ** 6n)
    assert.notEqual(BigInt(999 ** 6), 999n ** 6n)
  })

  it('draws every combination exactly once, in cartesian order with the last parameter fastest, then ends', () => {
    const drawn = drain()
    assert.equal(drawn.length, 8)
    assert.equal(new Set(drawn.map(canonicalKey)).size, 8)
    assert.deepEqual(drawn.slice(0, 3), [
      { 'lora.r': 8, 'lora.target_modules': ['q_lin', 'v_lin'], 'trainer.epochs': 1, scale: 0 },
      { 'lora.r': 8, 'lora.target_modules': ['q_lin', 'v_lin'], 'trainer.epochs': 1, scale: 1 },
      { 'lora.r': 8, 'lora.target_modules': 'all-linear', 'trainer.epochs': 1, scale: 0 },
    ])
    assert.deepEqual(drawn[7], { 'lora.r': 16, 'lora.target_modules': 'all-linear', 'trainer.epochs': 1, scale: 1 })
    // The duplicate bundle (index 2) never appears: it is bundle 0 again.
    assert.ok(drawn.every((a) => a['scale'] === 0 || a['scale'] === 1))
  })

  it('never offers a point any trial holds, whatever its state (a failed point is not retried)', () => {
    const first = gridSampler().next(space, [], 'maximize')!
    const taken = [trial(0, first, 'failed'), trial(1, { ...first, scale: 1 }, 'running')]
    const next = gridSampler().next(space, taken, 'maximize')!
    assert.deepEqual(next, { ...first, 'lora.target_modules': 'all-linear', scale: 0 })
    // A history holding the duplicate bundle's index takes the same point as bundle 0.
    const viaDuplicate = gridSampler().next(space, [trial(0, { ...first, scale: 2 })], 'maximize')!
    assert.deepEqual(viaDuplicate, { ...first, scale: 1 })
  })

  it('is the same sequence whatever the seed, as the factory builds it', () => {
    assert.deepEqual(drain(samplerFor('grid', 1)), drain(samplerFor('grid', 2)))
  })

  it('accepts only finite lists: value, values/categorical and together; a distribution is refused by name', () => {
    assert.ok(gridAccepts({ kind: 'constant', value: 3 }))
    assert.ok(gridAccepts({ kind: 'categorical', choices: [1, 2] }))
    assert.ok(gridAccepts({ kind: 'together', bundles: [{ a: 1 }] }))
    assert.ok(!gridAccepts({ kind: 'float', low: 0, high: 1, log: false }))
    assert.ok(!gridAccepts({ kind: 'int', low: 1, high: 8, log: false }))
    const withFloat: SearchSpace = [...space, { name: 'trainer.weight_decay', domain: { kind: 'float', low: 0, high: 0.1, log: false } }]
    assert.throws(
      () => gridSize(withFloat),
      (e: unknown) => e instanceof GridDomainUnsupported && e.parameter === 'trainer.weight_decay' && /values: \[\.\.\.\]/.test(e.message),
    )
  })
})
