import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { SearchSpace } from '../../../src/sweep/model.ts'
import { canonicalKey, randomSampler, samplerFor } from '../../../src/sweep/samplers/index.ts'
import { optimise, trial } from './support.ts'

const mixed: SearchSpace = [
  { name: 'trainer.learning_rate', domain: { kind: 'float', low: 1e-5, high: 1e-1, log: true } },
  { name: 'lora.r', domain: { kind: 'int', low: 4, high: 64, log: false, q: 4 } },
  { name: 'lora.dropout', domain: { kind: 'float', low: 0, high: 0.3, log: false, q: 0.05 } },
  { name: 'lora.target_modules', domain: { kind: 'categorical', choices: [['q_lin', 'v_lin'], 'all-linear'] } },
  { name: 'trainer.epochs', domain: { kind: 'constant', value: 2 } },
]

describe('random search', () => {
  it('draws the same trials for the same seed and history, and others for another seed', () => {
    const f = () => 0
    const a = optimise(randomSampler(7), mixed, f, 20).map((t) => t.assignment)
    const b = optimise(samplerFor('random', 7), mixed, f, 20).map((t) => t.assignment)
    const c = optimise(randomSampler(8), mixed, f, 20).map((t) => t.assignment)
    assert.deepEqual(a, b)
    assert.notDeepEqual(a, c)
  })

  it('draws trial n from (seed, n) alone: a resumed sweep draws what the uninterrupted one drew', () => {
    const full = optimise(randomSampler(3), mixed, () => 1, 12)
    const resumed = randomSampler(3).next(mixed, full.slice(0, 9), 'minimize')
    assert.deepEqual(resumed, full[9]!.assignment)
  })

  it('keeps every value in its domain: log scale within bounds, q grids exact, integers whole, choices from the list', () => {
    for (const t of optimise(randomSampler(1), mixed, () => 0, 200)) {
      const a = t.assignment
      const lr = a['trainer.learning_rate'] as number
      assert.ok(lr >= 1e-5 && lr <= 1e-1, `lr ${lr}`)
      const r = a['lora.r'] as number
      assert.ok(Number.isInteger(r) && r >= 4 && r <= 64 && r % 4 === 0, `r ${r}`)
      const d = a['lora.dropout'] as number
      assert.ok(d >= 0 && d <= 0.3, `dropout ${d}`)
      assert.equal(d, Number((Math.round(d / 0.05) * 0.05).toFixed(2)), `dropout ${d} is a clean multiple of 0.05`)
      assert.ok(['["q_lin","v_lin"]', '"all-linear"'].includes(canonicalKey(a['lora.target_modules'])))
      assert.equal(a['trainer.epochs'], 2)
    }
  })

  it('spreads a log-uniform parameter evenly over decades', () => {
    const lrs = Array.from({ length: 2000 }, (_, seed) => randomSampler(seed).next(mixed, [], 'minimize')!['trainer.learning_rate'] as number)
    const below = lrs.filter((x) => x < 1e-3).length / lrs.length
    assert.ok(Math.abs(below - 0.5) < 0.05, `fraction below the geometric middle: ${below}`)
  })

  it('never repeats a configuration while the space has an unused one, then repeats rather than stopping', () => {
    const small: SearchSpace = [
      { name: 'a', domain: { kind: 'categorical', choices: ['x', 'y', 'z'] } },
      { name: 'b', domain: { kind: 'together', bundles: [{ p: 1 }, { p: 2 }] } },
    ]
    for (const seed of [0, 1, 2, 3]) {
      const h = optimise(randomSampler(seed), small, () => 0, 7)
      assert.equal(new Set(h.slice(0, 6).map((t) => canonicalKey(t.assignment))).size, 6, `seed ${seed}`)
      assert.equal(h.length, 7)
    }
    // A finite space's last unused point is found whatever the seed, not left to luck.
    const grid: SearchSpace = [
      { name: 'a', domain: { kind: 'int', low: 1, high: 5, log: false } },
      { name: 'b', domain: { kind: 'int', low: 1, high: 5, log: false } },
    ]
    const all = Array.from({ length: 25 }, (_, k) => ({ a: 1 + Math.floor(k / 5), b: 1 + (k % 5) }))
    const last = all[17]!
    const held24 = all.filter((p) => p !== last).map((p, i) => trial(i, p))
    for (let seed = 0; seed < 20; seed++) assert.deepEqual(randomSampler(seed, 0).next(grid, held24, 'minimize'), last, `seed ${seed}`)
    // Running and failed trials hold their configuration too.
    const held = [trial(0, { a: 'x', b: 0 }, 'running'), trial(1, { a: 'y', b: 0 }, 'failed')]
    const next = randomSampler(0).next([{ name: 'a', domain: { kind: 'categorical', choices: ['x', 'y', 'z'] } }, { name: 'b', domain: { kind: 'constant', value: 0 } }], held, 'minimize')
    assert.deepEqual(next, { a: 'z', b: 0 })
  })
})
