import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Assignment, Sampler, SearchSpace, TrialView } from '../../../src/sweep/model.ts'
import { samplerFor } from '../../../src/sweep/samplers/index.ts'
import { createSearch, openSearch, SearchExhausted, SearchInvalid, SearchMisuse, type Search, type SearchParameters } from '../../../src/sweep/search/search.ts'

const branin = (p: Readonly<Record<string, unknown>>) => {
  const x1 = p['x1'] as number
  const x2 = p['x2'] as number
  return (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 * x1 + (5 / Math.PI) * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10
}
const braninParameters: SearchParameters = { x1: { min: -5.0, max: 10.5 }, x2: { distribution: 'uniform', min: 0, max: 15 } }
const braninSpace: SearchSpace = [
  { name: 'x1', domain: { kind: 'float', low: -5, high: 10.5, log: false } },
  { name: 'x2', domain: { kind: 'float', low: 0, high: 15, log: false } },
]

/** `n` trials asked and told one after another. */
function run(search: Search, n: number, f = branin): void {
  for (let i = 0; i < n; i++) {
    const t = search.ask()
    search.tell(t.number, f(t.params))
  }
}

/** What a sampler was shown at each call (copies: the search's own records change afterwards). */
function spy(): Sampler & { seen: TrialView[][] } {
  const seen: TrialView[][] = []
  let k = 0
  return {
    name: 'spy',
    seen,
    next(_space, history): Assignment {
      seen.push(history.map((t) => ({ ...t, intermediate: new Map(t.intermediate) })))
      k++
      return { x1: k / 10, x2: k / 10 }
    },
  }
}

describe('createSearch: ask and tell', () => {
  it('asks the parameters in the sweep file syntax and numbers trials from 0', () => {
    const search = createSearch({
      method: 'tpe',
      seed: 0,
      goal: 'minimize',
      parameters: { lr: { distribution: 'log_uniform_values', min: 1e-6, max: 1e-1 }, r: { values: [4, 8, 16, 32] }, dropout: { value: 0.1 } },
    })
    const a = search.ask()
    const b = search.ask()
    assert.deepEqual([a.number, b.number], [0, 1])
    for (const t of [a, b]) {
      assert.deepEqual(Object.keys(t.params), ['lr', 'r', 'dropout'])
      const lr = t.params['lr'] as number
      assert.ok(lr >= 1e-6 && lr <= 1e-1, String(lr))
      assert.ok([4, 8, 16, 32].includes(t.params['r'] as number))
      assert.equal(t.params['dropout'], 0.1)
    }
    assert.deepEqual(search.parameters, ['lr', 'r', 'dropout'])
    assert.equal(search.goal, 'minimize')
  })

  for (const method of ['random', 'tpe', 'gp'] as const) {
    it(`${method}: the same seed and calls give the same trials; another seed others`, () => {
      const trace = (seed: number) => {
        const s = createSearch({ method, seed, parameters: braninParameters })
        run(s, 14)
        return s.trials.map((t) => [t.params, t.value])
      }
      assert.deepEqual(trace(3), trace(3))
      assert.notDeepEqual(trace(3), trace(4))
    })
  }

  it('runs the sampler the sweep file names, on the same history: its params are the sampler\'s', () => {
    const search = createSearch({ method: 'tpe', seed: 5, goal: 'maximize', parameters: braninParameters })
    const sampler = samplerFor('tpe', 5)
    const history: TrialView[] = []
    for (let i = 0; i < 15; i++) {
      const expected = sampler.next(braninSpace, history, 'maximize')!
      const t = search.ask()
      assert.deepEqual(t.params, expected)
      const v = -branin(t.params)
      search.tell(t.number, v)
      history.push({ number: i, assignment: expected, state: 'completed', value: v, intermediate: new Map() })
    }
    assert.equal(search.best!.value, Math.max(...history.map((t) => t.value!)))
  })

  for (const method of ['tpe', 'gp'] as const) {
    it(`${method}: trials asked but not told are running ones (constant liar / kriging believer): the next ask moves away from them`, () => {
      const search = createSearch({ method, seed: 2, parameters: braninParameters })
      run(search, 12)
      const pending = [search.ask(), search.ask(), search.ask()]
      const next = search.ask()
      // The sampler shown the same history with those three running gives the same point ...
      const told: TrialView[] = search.trials.slice(0, 12).map((t) => ({ number: t.number, assignment: t.params, state: 'completed', value: t.value!, intermediate: new Map() }))
      const running: TrialView[] = pending.map((t) => ({ number: t.number, assignment: t.params, state: 'running', intermediate: new Map() }))
      assert.deepEqual(next.params, samplerFor(method, 2).next(braninSpace, [...told, ...running], 'minimize'))
      // ... and without them, another: the running trials changed the suggestion.
      assert.notDeepEqual(next.params, samplerFor(method, 2).next(braninSpace, told, 'minimize'))
      const keys = new Set([...pending, next].map((t) => JSON.stringify(t.params)))
      assert.equal(keys.size, 4, 'four different points asked while none was told')
      assert.deepEqual(search.trials.slice(12).map((t) => t.state), ['running', 'running', 'running', 'running'])
    })
  }

  it('a pruned trial keeps its last reported value (or the one told); a failed one has none; NaN is a failure', () => {
    const sampler = spy()
    const search = openSearch({ method: 'spy', goal: 'minimize', space: braninSpace, sampler })
    const [a, b, c, d, e] = [search.ask(), search.ask(), search.ask(), search.ask(), search.ask()]
    search.report(a.number, 1, 5)
    search.report(a.number, 3, 2.5)
    search.report(a.number, 2, 4)
    search.tell(a.number, { state: 'pruned' })
    search.report(b.number, 1, 7)
    search.tell(b.number, { state: 'pruned', value: 6 })
    search.tell(c.number, { state: 'failed' })
    search.tell(d.number, Number.NaN)
    search.tell(e.number, 1.5)
    search.ask()
    const shown = sampler.seen.at(-1)!
    assert.deepEqual(
      shown.map((t) => [t.number, t.state, t.value, [...t.intermediate]]),
      [
        [0, 'pruned', 2.5, [[1, 5], [3, 2.5], [2, 4]]],
        [1, 'pruned', 6, [[1, 7]]],
        [2, 'failed', undefined, []],
        [3, 'failed', undefined, []],
        [4, 'completed', 1.5, []],
      ],
    )
    assert.equal(search.best!.number, 4)
    assert.deepEqual(search.trials.at(-1)!.state, 'running')
  })

  it('tpe with every trial failed or pruned without a value still asks points in the space', () => {
    const search = createSearch({ method: 'tpe', seed: 1, parameters: braninParameters })
    for (let i = 0; i < 15; i++) {
      const t = search.ask()
      search.tell(t.number, i % 2 ? { state: 'failed' } : { state: 'pruned' })
    }
    const t = search.ask()
    assert.ok((t.params['x1'] as number) >= -5 && (t.params['x1'] as number) <= 10.5)
  })

  it('add puts trials run elsewhere in the history, checked against the space', () => {
    const sampler = spy()
    const search = openSearch({ method: 'spy', goal: 'minimize', space: braninSpace, sampler })
    assert.equal(search.add({ params: { x1: 1, x2: 2 }, value: 3 }), 0)
    assert.equal(search.add({ params: { x1: 2, x2: 2 }, state: 'pruned', intermediate: { 1: 9, 2: 8 }, value: 8 }), 1)
    assert.equal(search.add({ params: { x1: 3, x2: 2 } }), 2)
    search.ask()
    assert.deepEqual(
      sampler.seen[0]!.map((t) => [t.state, t.value, [...t.intermediate]]),
      [
        ['completed', 3, []],
        ['pruned', 8, [[1, 9], [2, 8]]],
        ['running', undefined, []],
      ],
    )
    search.tell(2, 0.5)
    assert.equal(search.best!.number, 2)
    assert.throws(() => search.add({ params: { x1: 1 } }), (e: unknown) => e instanceof SearchMisuse && /params\.x2: missing/.test(e.message))
    assert.throws(() => search.add({ params: { x1: 11, x2: 1, lr: 3 } }), (e: unknown) => e instanceof SearchMisuse && /params\.lr: not a parameter.*params\.x1: 11 is not a number in \[-5, 10\.5\]/.test(e.message))
    assert.throws(() => search.add({ params: { x1: 1, x2: 1 }, state: 'completed' }), /a completed trial needs its value/)
  })

  it('a together parameter asks its bundle, and add takes the bundle back', () => {
    const together = [
      { 'lora.r': 8, 'lora.alpha': 16 },
      { 'lora.r': 16, 'lora.alpha': 32 },
    ]
    const search = createSearch({ method: 'random', seed: 0, parameters: { shape: { together }, lr: { values: [0.1, 0.01] } } })
    const t = search.ask()
    assert.ok(together.some((b) => JSON.stringify(b) === JSON.stringify(t.params['shape'])), JSON.stringify(t.params))
    search.tell(t.number, 1)
    assert.equal(search.add({ params: { shape: { 'lora.alpha': 32, 'lora.r': 16 }, lr: 0.01 }, value: 0.5 }), 1)
    assert.deepEqual(search.best!.params, { shape: together[1], lr: 0.01 })
    assert.throws(() => search.add({ params: { shape: { 'lora.r': 4 }, lr: 0.1 }, value: 1 }), /params\.shape: \{"lora.r":4\} is not one of its bundles/)
  })

  it('grid: every combination once, then SearchExhausted', () => {
    const search = createSearch({ method: 'grid', parameters: { a: { values: [1, 2] }, b: { values: ['x', 'y', 'x'] } } })
    const seen = Array.from({ length: 4 }, () => search.ask().params)
    assert.deepEqual(seen, [
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
    ])
    assert.throws(() => search.ask(), (e: unknown) => e instanceof SearchExhausted && e.message === 'every grid point was asked (4 trials)')
  })

  it('refuses a result told twice, an unknown trial, a bad step and a result that is neither a value nor an end', () => {
    const search = createSearch({ method: 'random', seed: 0, parameters: braninParameters })
    const t = search.ask()
    search.tell(t.number, 1)
    assert.throws(() => search.tell(t.number, 2), (e: unknown) => e instanceof SearchMisuse && e.message === 'cannot tell trial 0: it is already completed')
    assert.throws(() => search.tell(5, 2), /cannot tell trial 5: there is no such trial \(trials 0-0 were asked\)/)
    assert.throws(() => search.report(t.number, 1, 2), /cannot report a value of trial 0: it is already completed/)
    const u = search.ask()
    assert.throws(() => search.report(u.number, 1.5, 2), /a step is a whole number >= 0, not 1\.5/)
    assert.throws(() => search.tell(u.number, { state: 'done' } as never), /give the objective value, \{ state: 'pruned' \} or \{ state: 'failed' \}/)
  })
})

describe('createSearch: the options are checked as a sweep file is', () => {
  const invalid = (options: unknown) => {
    try {
      createSearch(options as never)
    } catch (e) {
      assert.ok(e instanceof SearchInvalid, String(e))
      return e.message
    }
    assert.fail('createSearch accepted the options')
  }

  it('names each problem by its place, with the fix', () => {
    const m = invalid({
      method: 'tpe',
      parameters: {
        lr: { distribution: 'log_uniform_values', min: 0, max: 0.1 },
        r: { values: [4, 8], min: 1 },
        wd: { min: 0.1, max: 0.01 },
        steps: { distribution: 'int_uniform', min: 1.5, max: 10 },
      },
    })
    assert.match(m, /^invalid search \(4 problems\):/)
    assert.match(m, /parameters\.lr\.min: `log_uniform_values` needs `min` > 0, not 0 \(a log scale starts above zero/)
    assert.match(m, /parameters\.r\.min: `min` cannot be given with `values`/)
    assert.match(m, /parameters\.wd\.min: `min` \(0\.1\) must be less than `max` \(0\.01\) \(swap them\)/)
    assert.match(m, /parameters\.steps\.min: `int_uniform` needs whole-number bounds, not 1\.5/)
  })

  it('names unknown keys, methods and goals, with the closest known one', () => {
    const m = invalid({ method: 'bayes', goal: 'minimise', seed: -1, parameters: { lr: { distrbution: 'uniform', min: 0, max: 1 } } })
    assert.match(m, /method: `method` must be one of `grid`, `random`, `tpe`, `gp`, not the string "bayes" \(W&B's `bayes` is Bayesian optimisation with a Gaussian process: write `method: gp`/)
    assert.match(m, /goal: `goal` must be one of `minimize`, `maximize`, not the string "minimise" \(did you mean `minimize`\?\)/)
    assert.match(m, /seed: `seed` must be >= 0, not -1/)
    assert.match(m, /parameters\.lr\.distrbution: unknown key `distrbution` in `parameters\.lr` \(did you mean `distribution`\?\)/)
  })

  it('refuses a grid over a range, an empty space and options that are not an object', () => {
    assert.match(invalid({ method: 'grid', parameters: { lr: { min: 0.1, max: 0.5 } } }), /parameters\.lr: a grid needs a list of values, but `lr` is a real range/)
    assert.match(invalid({ method: 'random', parameters: {} }), /parameters/)
    assert.match(invalid({ method: 'random' }), /parameters/)
    assert.match(invalid(undefined), /createSearch takes an object/)
  })
})
