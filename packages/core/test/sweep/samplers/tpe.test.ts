import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Assignment, SearchSpace, TrialView } from '../../../src/sweep/model.ts'
import { canonicalKey, randomSampler, resolveDomain, samplerFor, tpeSampler } from '../../../src/sweep/samplers/index.ts'
import { ParzenEstimator, defaultWeights, type EstimatorDomain } from '../../../src/sweep/samplers/tpe/parzen-estimator.ts'
import { splitTrials } from '../../../src/sweep/samplers/tpe/tpe.ts'
import { optimise, trial } from './support.ts'

const MULTIVARIATE = { priorWeight: 1, considerMagicClip: true, considerEndpoints: false, multivariate: true }
const estimatorDomain = (d: Parameters<typeof resolveDomain>[1]) => resolveDomain('p', d) as EstimatorDomain

/** The 2-D Branin function; its minimum 0.397887 is reached at three points. */
function branin(a: Assignment): number {
  const x1 = a['x1'] as number
  const x2 = a['x2'] as number
  const b = 5.1 / (4 * Math.PI ** 2)
  const c = 5 / Math.PI
  const t = 1 / (8 * Math.PI)
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10
}
const braninSpace: SearchSpace = [
  { name: 'x1', domain: { kind: 'float', low: -5, high: 10, log: false } },
  { name: 'x2', domain: { kind: 'float', low: 0, high: 15, log: false } },
]

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2
}

const mixed: SearchSpace = [
  { name: 'trainer.learning_rate', domain: { kind: 'float', low: 1e-6, high: 1, log: true } },
  { name: 'lora.r', domain: { kind: 'int', low: 1, high: 256, log: true } },
  { name: 'trainer.batch_size', domain: { kind: 'int', low: 8, high: 64, log: false, q: 8 } },
  { name: 'trainer.weight_decay', domain: { kind: 'float', low: 0, high: 0.1, log: false, q: 0.01 } },
  { name: 'lora.target_modules', domain: { kind: 'categorical', choices: [['q_lin', 'v_lin'], 'all-linear', 'none'] } },
  { name: 'scale', domain: { kind: 'together', bundles: [{ 'lora.alpha': 8 }, { 'lora.alpha': 16 }, { 'lora.alpha': 32 }] } },
  { name: 'trainer.epochs', domain: { kind: 'constant', value: 3 } },
]
/** Best at learning rate 1e-4, r 16, batch 32, weight decay 0.03, all-linear, bundle 1. */
function bowl(a: Assignment): number {
  return (
    (Math.log10(a['trainer.learning_rate'] as number) + 4) ** 2 +
    (Math.log2(a['lora.r'] as number) - 4) ** 2 / 4 +
    Math.abs((a['trainer.batch_size'] as number) - 32) / 8 +
    Math.abs((a['trainer.weight_decay'] as number) - 0.03) * 10 +
    (a['lora.target_modules'] === 'all-linear' ? 0 : 1) +
    (a['scale'] === 1 ? 0 : 1)
  )
}

describe('TPE sampler', () => {
  it('suggests the same trials for the same seed and history (a resumed sweep replays), others for another seed', () => {
    const a = optimise(tpeSampler(11), braninSpace, branin, 25)
    const b = optimise(samplerFor('tpe', 11), braninSpace, branin, 25)
    assert.deepEqual(a.map((t) => t.assignment), b.map((t) => t.assignment))
    assert.deepEqual(tpeSampler(11).next(braninSpace, a.slice(0, 17), 'minimize'), a[17]!.assignment)
    assert.notDeepEqual(optimise(tpeSampler(12), braninSpace, branin, 25).map((t) => t.assignment), a.map((t) => t.assignment))
  })

  it('draws its 10 start-up trials as random search with the same seed does, then models', () => {
    const tpe = optimise(tpeSampler(4), braninSpace, branin, 12).map((t) => t.assignment)
    const rnd = optimise(randomSampler(4), braninSpace, branin, 12).map((t) => t.assignment)
    assert.deepEqual(tpe.slice(0, 10), rnd.slice(0, 10))
    assert.notDeepEqual(tpe[10], rnd[10])
  })

  it('treats maximising f exactly as minimising -f', () => {
    const min = optimise(tpeSampler(2), braninSpace, branin, 20, 'minimize').map((t) => t.assignment)
    const max = optimise(tpeSampler(2), braninSpace, (a) => -branin(a), 20, 'maximize').map((t) => t.assignment)
    assert.deepEqual(max, min)
  })

  it('keeps log-scale, integer, quantised, categorical and together parameters in their domains, and finds the good region', () => {
    for (const seed of [0, 1]) {
      const h = optimise(tpeSampler(seed), mixed, bowl, 60)
      for (const { assignment: a } of h) {
        const lr = a['trainer.learning_rate'] as number
        assert.ok(lr >= 1e-6 && lr <= 1, `lr ${lr}`)
        const r = a['lora.r'] as number
        assert.ok(Number.isInteger(r) && r >= 1 && r <= 256, `r ${r}`)
        const bs = a['trainer.batch_size'] as number
        assert.ok(Number.isInteger(bs) && bs >= 8 && bs <= 64 && bs % 8 === 0, `batch ${bs}`)
        const wd = a['trainer.weight_decay'] as number
        assert.ok(wd >= 0 && wd <= 0.1 && wd === Number((Math.round(wd * 100) / 100).toFixed(2)), `weight decay ${wd}`)
        assert.ok(['["q_lin","v_lin"]', '"all-linear"', '"none"'].includes(canonicalKey(a['lora.target_modules'])))
        assert.ok([0, 1, 2].includes(a['scale'] as number))
        assert.equal(a['trainer.epochs'], 3)
      }
      const best = Math.min(...h.map((t) => t.value!))
      const bestRandom = Math.min(...optimise(randomSampler(seed), mixed, bowl, 60).map((t) => t.value!))
      assert.ok(best < bestRandom, `seed ${seed}: TPE best ${best} vs random ${bestRandom}`)
      // Late trials have learnt the learning rate's decade (the log scale is modelled in log space).
      const lateLr = h.slice(40).map((t) => Math.abs(Math.log10(t.assignment['trainer.learning_rate'] as number) + 4))
      assert.ok(median(lateLr) < 1, `seed ${seed}: late trials' median |log10(lr) + 4| = ${median(lateLr)}`)
    }
  })

  it('avoids repeating a configuration of a finite space while a new one is among its candidates', () => {
    const small: SearchSpace = [
      { name: 'a', domain: { kind: 'categorical', choices: [1, 2, 3, 4] } },
      { name: 'b', domain: { kind: 'categorical', choices: ['x', 'y', 'z'] } },
    ]
    for (const seed of [0, 1, 2, 3]) {
      const h = optimise(tpeSampler(seed, { startupTrials: 3 }), small, (a) => (a['a'] as number) + (a['b'] === 'y' ? 0 : 1), 10)
      assert.equal(new Set(h.map((t) => canonicalKey(t.assignment))).size, 10, `seed ${seed}`)
    }
  })

  it('constant liar: parallel suggestions spread out, and a suggestion moves away from running trials', () => {
    const space: SearchSpace = [
      { name: 'x', domain: { kind: 'float', low: 0, high: 10, log: false } },
      { name: 'y', domain: { kind: 'float', low: 0, high: 10, log: false } },
    ]
    const f = (a: Assignment) => ((a['x'] as number) - 3) ** 2 + ((a['y'] as number) - 7) ** 2
    const dist = (p: Assignment, q: Assignment) => Math.hypot((p['x'] as number) - (q['x'] as number), (p['y'] as number) - (q['y'] as number))
    const spread = { liar: [] as number[], none: [] as number[] }
    const moved = { liar: [] as number[], none: [] as number[] }
    for (let seed = 0; seed < 10; seed++) {
      const done = optimise(tpeSampler(seed), space, f, 30)
      for (const [key, liar] of [['liar', true], ['none', false]] as const) {
        // Four workers ask in turn; each sees the earlier ones running.
        const s = tpeSampler(seed, { constantLiar: liar })
        const h: TrialView[] = [...done]
        const points: Assignment[] = []
        for (let k = 0; k < 4; k++) {
          const p = s.next(space, h, 'minimize')!
          points.push(p)
          h.push(trial(h.length, p, 'running'))
        }
        spread[key].push(Math.min(...points.flatMap((p, i) => points.slice(i + 1).map((q) => dist(p, q)))))
        // Three trials running at the point TPE likes best: the next suggestion goes elsewhere.
        const favourite = tpeSampler(seed).next(space, done, 'minimize')!
        const busy = [...done, ...[0, 1, 2].map((k) => trial(30 + k, favourite, 'running'))]
        moved[key].push(dist(s.next(space, busy, 'minimize')!, favourite))
      }
    }
    assert.ok(median(spread.liar) > 2 * median(spread.none), `closest pair of 4 parallel suggestions: ${median(spread.liar)} with the liar, ${median(spread.none)} without`)
    assert.ok(median(moved.liar) > 2 * median(moved.none), `distance from the running trials: ${median(moved.liar)} with the liar, ${median(moved.none)} without`)
  })

  it('never repeats a configuration while the space has another, multivariate or independent: all 25 points of a 5 x 5 integer grid in 25 trials', () => {
    const grid: SearchSpace = [
      { name: 'a', domain: { kind: 'int', low: 1, high: 5, log: false } },
      { name: 'b', domain: { kind: 'int', low: 1, high: 5, log: false } },
    ]
    const f = (a: Assignment) => ((a['a'] as number) - 2) ** 2 + ((a['b'] as number) - 4) ** 2
    for (const multivariate of [true, false]) {
      for (const seed of [0, 1, 2]) {
        const h = optimise(tpeSampler(seed, { multivariate }), grid, f, 26)
        assert.equal(new Set(h.slice(0, 25).map((t) => canonicalKey(t.assignment))).size, 25, `multivariate ${multivariate}, seed ${seed}`)
        assert.equal(h.length, 26, 'a full space repeats rather than stopping')
      }
    }
  })
})

describe('TPE good/bad split (Optuna _split_trials)', () => {
  it('takes the best gamma(n) completed trials as good, fills up with pruned ones by progress, and counts running ones as bad', () => {
    const t = [
      trial(0, {}, 'completed', 5),
      trial(1, {}, 'pruned', 9, [[1, 9], [2, 9]]),
      trial(2, {}, 'running'),
      trial(3, {}, 'completed', 1),
      trial(4, {}, 'pruned', 0.5, [[1, 0.5]]),
      trial(5, {}, 'pruned', undefined, []),
    ]
    const numbers = (ts: TrialView[]) => ts.map((x) => x.number)
    assert.deepEqual(numbers(splitTrials(t, 1, 'minimize').below), [3])
    // Only 2 completed, so the 3rd good one is the pruned trial that got furthest (2 evaluations), not the one with the best value.
    const three = splitTrials(t, 3, 'minimize')
    assert.deepEqual(numbers(three.below), [0, 1, 3])
    assert.deepEqual(numbers(three.above), [2, 4, 5])
    assert.deepEqual(numbers(splitTrials(t, 1, 'maximize').below), [0])
  })
})

describe('Parzen estimator (Optuna parzen_estimator.py)', () => {
  // Reference densities computed with scipy.stats.truncnorm from the bandwidth rules by hand.
  it('weights observations equally below 26 and ramps the oldest above', () => {
    assert.deepEqual(defaultWeights(3), [1, 1, 1])
    const w = defaultWeights(30)
    assert.equal(w.length, 30)
    assert.deepEqual(w.slice(0, 5).map((x) => Number(x.toFixed(6))), [0.033333, 0.275, 0.516667, 0.758333, 1])
  })

  it('continuous kernels: a width from the spread, clipped up by the magic clip, plus the prior', () => {
    // [0, 10], observations 2 and 4: spread min(sd 1.41, IQR 1 / 1.34) = 0.75, width 2 * 0.75 * 2^(-1/5) = 1.30
    // (under 0.2 * 2^(-1/5) * 10 = 1.74), clipped up to 10 / 4 = 2.5.
    const pe = new ParzenEstimator([[2], [4]], [estimatorDomain({ kind: 'float', low: 0, high: 10, log: false })], MULTIVARIATE)
    assert.ok(Math.abs(pe.logPdf([[3]])[0]! - -1.9051526065431466) < 1e-12)
  })

  it('multivariate kernels have a width per parameter: narrow where the observations cluster, capped where they spread', () => {
    // 20 observations on [0, 100]^2: x clustered around 50 (width 2 * spread * 20^(-1/6) = 5.14),
    // y spread over the range (capped at 0.2 * 20^(-1/6) * 100 = 12.14). Reference: scipy.stats.truncnorm
    // mixture of the same kernels plus the prior N(50, 100).
    const obs = Array.from({ length: 20 }, (_, i) => [50 + 6 * Math.sin(i), (i * 37) % 100])
    const d = estimatorDomain({ kind: 'float', low: 0, high: 100, log: false })
    const pe = new ParzenEstimator(obs, [d, d], MULTIVARIATE)
    const [a, b] = pe.logPdf([[50, 30], [60, 74]])
    assert.ok(Math.abs(a! - -7.491012513533765) < 1e-10, `${a}`)
    assert.ok(Math.abs(b! - -8.45970789570087) < 1e-10, `${b}`)
  })

  it('log-scale kernels live on log(x)', () => {
    const pe = new ParzenEstimator([[1e-2]], [estimatorDomain({ kind: 'float', low: 1e-4, high: 1, log: true })], MULTIVARIATE)
    assert.ok(Math.abs(pe.logPdf([[1e-3]])[0]! - -2.194409459374507) < 1e-12)
  })

  it('integer kernels give probabilities: the mass on [x - 1/2, x + 1/2], summing to 1', () => {
    const pe = new ParzenEstimator([[2]], [estimatorDomain({ kind: 'int', low: 1, high: 5, log: false })], MULTIVARIATE)
    const logP = pe.logPdf([[1], [2], [3], [4], [5]])
    assert.ok(Math.abs(logP[1]! - -1.3874891324182965) < 1e-12)
    assert.ok(Math.abs(logP.reduce((s, x) => s + Math.exp(x), 0) - 1) < 1e-12)
  })

  it('categorical kernels: prior_weight / (n + 1) on every choice, 1 more on the observed one', () => {
    const pe = new ParzenEstimator([[0], [0], [2]], [estimatorDomain({ kind: 'categorical', choices: ['a', 'b', 'c'] })], MULTIVARIATE)
    const logP = pe.logPdf([[0], [1], [2]])
    assert.ok(Math.abs(logP[0]! - -0.7419373447293773) < 1e-12)
    assert.ok(Math.abs(logP.reduce((s, x) => s + Math.exp(x), 0) - 1) < 1e-12)
  })
})
