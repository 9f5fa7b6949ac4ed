import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalKey, domainProblem, resolveDomain } from '../../../src/sweep/samplers/index.ts'

describe('parameter domains', () => {
  it('names what makes a domain unusable', () => {
    assert.match(domainProblem({ kind: 'float', low: 1, high: 0, log: false })!, /min 1 above max 0; swap them/)
    assert.match(domainProblem({ kind: 'float', low: 0, high: 1, log: true })!, /log scale, so min must be above 0/)
    assert.match(domainProblem({ kind: 'int', low: 1, high: 8.5, log: false })!, /whole-number distribution/)
    assert.match(domainProblem({ kind: 'int', low: 0, high: 8, log: false, q: 0 })!, /q > 0/)
    assert.match(domainProblem({ kind: 'float', low: 0.01, high: 1, log: true, q: 0.05 })!, /above q\/2/)
    assert.match(domainProblem({ kind: 'categorical', choices: [] })!, /at least one/)
    assert.equal(domainProblem({ kind: 'int', low: 1, high: 256, log: true }), undefined)
    assert.equal(domainProblem({ kind: 'float', low: 1e-5, high: 1e-1, log: true }), undefined)
  })

  it('snaps a quantised range to its grid as Optuna does (high = low + floor((high - low) / q) * q)', () => {
    assert.deepEqual(resolveDomain('p', { kind: 'float', low: 0.1, high: 1, log: false, q: 0.25 }), { kind: 'numeric', integer: false, low: 0.1, high: 0.85, log: false, step: 0.25 })
    assert.deepEqual(resolveDomain('p', { kind: 'int', low: 4, high: 30, log: false, q: 8 }), { kind: 'numeric', integer: true, low: 4, high: 28, log: false, step: 8 })
    assert.deepEqual(resolveDomain('p', { kind: 'int', low: 3, high: 3, log: false }), { kind: 'fixed', value: 3 })
  })

  it('treats equal values as one choice, lists and objects by content', () => {
    const d = resolveDomain('m', { kind: 'categorical', choices: [['q', 'v'], { a: 1, b: 2 }, ['q', 'v'], { b: 2, a: 1 }, 'all'] })
    assert.equal(d.kind, 'choice')
    if (d.kind !== 'choice') return
    assert.deepEqual(d.values.map(canonicalKey), ['["q","v"]', '{"a":1,"b":2}', '"all"'])
    assert.equal(d.indexOf({ b: 2, a: 1 }), 1)
    assert.equal(d.indexOf('none'), undefined)
    assert.deepEqual(resolveDomain('m', { kind: 'categorical', choices: [1, 1] }), { kind: 'fixed', value: 1 })
  })
})
