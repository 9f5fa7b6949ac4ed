import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CholeskyDecomposition, Matrix } from 'ml-matrix'
import type { Assignment, SearchSpace, TrialView } from '../../../src/sweep/model.ts'
import { canonicalKey, gpSampler, randomSampler, samplerFor } from '../../../src/sweep/samplers/index.ts'
import { minimize } from '../../../src/sweep/samplers/gp/lbfgs.ts'
import { logEiWithGradient, logExpectedImprovement } from '../../../src/sweep/samplers/gp/log-ei.ts'
import {
  GaussianProcess,
  backSolve,
  cholesky,
  fitKernelParameters,
  forwardSolve,
  kernel,
  matern52,
  negativeLogPosterior,
  pairwiseDistances,
} from '../../../src/sweep/samplers/gp/regressor.ts'
import { optimise, trial } from './support.ts'

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`)
}

/** A deterministic stream of numbers in [0, 1) for test data. */
function stream(seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 16807) % 2147483647
    return s / 2147483647
  }
}

const dist = (p: Assignment, q: Assignment, keys: readonly string[]) => Math.hypot(...keys.map((k) => (p[k] as number) - (q[k] as number)))

describe('GP pieces', () => {
  // References: mpmath at 50 digits (matern52, the kernel, log h(z) = log(z Phi(z) + phi(z))).
  it('Matern 5/2 and the ARD kernel with a Hamming term for choices match their formulas', () => {
    for (const [r2, e] of [[0, 1], [0.01, 0.99175923617117762], [1, 0.52399410883182031], [2.5, 0.25360991178002911]] as const) close(matern52(r2), e, 1e-15, `matern52(${r2})`)
    // x = (0.2, 0.7, choice 1), y = (0.5, 0.1, choice 2), rho = (4, 0.5, 2), scale 1.7:
    // r^2 = 4 * 0.3^2 + 0.5 * 0.6^2 + 2 * 1 (the choices differ: distance 1, not 1^2 of their indices' gap).
    const p = { inverseSquaredLengthscales: Float64Array.from([4, 0.5, 2]), scale: 1.7, noise: 1e-6 }
    close(kernel(p, Float64Array.from([0.2, 0.7, 1]), Float64Array.from([0.5, 0.1, 2]), [false, false, true]), 0.42372845427668588, 1e-14, 'kernel')
    close(kernel(p, Float64Array.from([0.2, 0.7, 1]), Float64Array.from([0.5, 0.1, 3]), [false, false, true]), 0.42372845427668588, 1e-14, 'a choice 2 apart is as far as 1 apart')
  })

  it('Cholesky factor and solves agree with ml-matrix on a covariance matrix', () => {
    const next = stream(3)
    const n = 30
    const xs = Array.from({ length: n }, () => Float64Array.from([next(), next(), next()]))
    const p = { inverseSquaredLengthscales: Float64Array.from([3, 1, 0.5]), scale: 1.2, noise: 1e-4 }
    const a = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = kernel(p, xs[i]!, xs[j]!, [false, false, false]) + (i === j ? p.noise : 0)
    const l = cholesky(a, n)!
    const ref = new CholeskyDecomposition(Matrix.from1DArray(n, n, Array.from(a)))
    const refL = ref.lowerTriangularMatrix.to1DArray()
    for (let i = 0; i < n * n; i++) close(l[i]!, refL[i]!, 1e-9, `L[${i}]`)
    const b = Float64Array.from({ length: n }, () => next() - 0.5)
    const x = backSolve(l, n, forwardSolve(l, n, Float64Array.from(b)))
    const refX = ref.solve(Matrix.columnVector(Array.from(b))).to1DArray()
    for (let i = 0; i < n; i++) close(x[i]!, refX[i]!, 1e-7, `x[${i}]`)
    // Not positive definite: no factor.
    assert.equal(cholesky(Float64Array.from([1, 2, 2, 1]), 2), undefined)
  })

  it('log EI matches log(z Phi(z) + phi(z)) + log sigma from far below the incumbent to above it', () => {
    const ref: [number, number][] = [
      [-100, -5010.1295788002498], [-40, -808.29856835661996], [-25, -319.86146358149595], [-20.5, -217.09186837038313],
      [-19.5, -196.99258561722833], [-10, -55.553122036122356], [-5, -16.74430116266099], [-1, -2.4851210257126413],
      [0, -0.91893853320467274], [0.5, -0.35982768374506382], [2, 0.69738354578822831], [5, 1.6094379231264314],
    ]
    for (const [z, e] of ref) {
      close(logExpectedImprovement(z, 1, 0), e, 1e-12, `log EI at z = ${z}`)
      // sigma 2: z = (mean - f0) / sigma, plus log 2.
      close(logExpectedImprovement(3 + 2 * z, 4, 3), e + Math.log(2), 1e-12, `log EI at z = ${z}, sigma 2`)
    }
  })

  it("log EI's gradient in the mean and the variance matches finite differences", () => {
    for (const [mean, variance] of [[-30, 0.5], [-3, 2], [0.2, 0.1], [4, 1]] as const) {
      const g = logEiWithGradient(mean, variance, 0)
      const h = 1e-6
      close(g.dMean, (logExpectedImprovement(mean + h, variance, 0) - logExpectedImprovement(mean - h, variance, 0)) / (2 * h), 1e-5, `d/dmean at ${mean}`)
      close(g.dVariance, (logExpectedImprovement(mean, variance + h, 0) - logExpectedImprovement(mean, variance - h, 0)) / (2 * h), 1e-5, `d/dvariance at ${mean}`)
    }
  })

  it("the marginal likelihood's gradient matches finite differences", () => {
    const next = stream(11)
    const xs = Array.from({ length: 15 }, () => Float64Array.from([next(), next(), Math.floor(next() * 3)]))
    const categorical = [false, false, true]
    const ys = Float64Array.from(xs, (x) => Math.sin(3 * x[0]!) + x[1]! ** 2 - 0.3 * x[2]!)
    const pairs = pairwiseDistances(xs, categorical)
    const raw = Float64Array.from([0.3, -0.5, 0.2, 0.1, -3])
    const grad = new Float64Array(5)
    negativeLogPosterior(raw, grad, pairs, ys, 3)
    const scratch = new Float64Array(5)
    for (let k = 0; k < 5; k++) {
      const up = Float64Array.from(raw)
      const down = Float64Array.from(raw)
      up[k]! += 1e-6
      down[k]! -= 1e-6
      const fd = (negativeLogPosterior(up, scratch, pairs, ys, 3) - negativeLogPosterior(down, scratch, pairs, ys, 3)) / 2e-6
      close(grad[k]!, fd, 1e-5, `d/draw[${k}]`)
    }
  })

  it('fits the kernel to a known function: a short lengthscale where it varies, a long one where it does not, little noise', () => {
    const next = stream(5)
    const xs = Array.from({ length: 40 }, () => Float64Array.from([next(), next()]))
    const raw = xs.map((x) => Math.sin(6 * x[0]!))
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length
    const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / raw.length)
    const ys = Float64Array.from(raw, (y) => (y - mean) / sd)
    const p = fitKernelParameters(xs, ys, [false, false])
    const [rho0, rho1] = p.inverseSquaredLengthscales
    assert.ok(rho0! > 20 * rho1!, `inverse squared lengthscales ${rho0} (varies) vs ${rho1} (irrelevant)`)
    assert.ok(p.noise < 1e-2, `noise ${p.noise}`)
    // The fitted process predicts held-out points of the function.
    const gp = GaussianProcess.condition(p, xs, ys, [false, false])!
    for (const x0 of [0.1, 0.35, 0.8]) {
      const { mean: m } = gp.posterior(Float64Array.from([x0, 0.5]))
      close(m * sd + mean, Math.sin(6 * x0), 0.05, `prediction at ${x0}`)
    }
  })

  it('L-BFGS finds the Rosenbrock minimum, and a minimum on the boundary of a box', () => {
    const rosen = minimize(
      (x, g) => {
        const [a, b] = [x[0]!, x[1]!]
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a)
        g[1] = 200 * (b - a * a)
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2
      },
      Float64Array.from([-1.2, 1]),
      { gtol: 1e-8, maxIterations: 500 },
    )
    close(rosen.x[0]!, 1, 1e-5, 'x')
    close(rosen.x[1]!, 1, 1e-5, 'y')
    const boxed = minimize(
      (x, g) => {
        g[0] = 2 * (x[0]! - 2)
        g[1] = 2 * (x[1]! + 0.5)
        return (x[0]! - 2) ** 2 + (x[1]! + 0.5) ** 2
      },
      Float64Array.from([0.5, 0.5]),
      { lower: Float64Array.from([0, 0]), upper: Float64Array.from([1, 1]) },
    )
    assert.deepEqual(Array.from(boxed.x), [1, 0])
  })
})

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
const plane: SearchSpace = [
  { name: 'x', domain: { kind: 'float', low: 0, high: 10, log: false } },
  { name: 'y', domain: { kind: 'float', low: 0, high: 10, log: false } },
]
const bump = (a: Assignment) => ((a['x'] as number) - 3) ** 2 + ((a['y'] as number) - 7) ** 2

describe('GP sampler', () => {
  it('suggests the same trials for the same seed and history (a resumed sweep replays), others for another seed', () => {
    const a = optimise(gpSampler(11), plane, bump, 16)
    const b = optimise(samplerFor('gp', 11), plane, bump, 16)
    assert.deepEqual(a.map((t) => t.assignment), b.map((t) => t.assignment))
    assert.deepEqual(gpSampler(11).next(plane, a.slice(0, 13), 'minimize'), a[13]!.assignment)
    assert.notDeepEqual(optimise(gpSampler(12), plane, bump, 16).map((t) => t.assignment), a.map((t) => t.assignment))
  })

  it('draws its 10 start-up trials as random search with the same seed does, then models', () => {
    const gp = optimise(gpSampler(4), plane, bump, 11).map((t) => t.assignment)
    const rnd = optimise(randomSampler(4), plane, bump, 11).map((t) => t.assignment)
    assert.deepEqual(gp.slice(0, 10), rnd.slice(0, 10))
    assert.notDeepEqual(gp[10], rnd[10])
  })

  it('treats maximising f exactly as minimising -f', () => {
    const min = optimise(gpSampler(2), plane, bump, 13, 'minimize').map((t) => t.assignment)
    const max = optimise(gpSampler(2), plane, (a) => -bump(a), 13, 'maximize').map((t) => t.assignment)
    assert.deepEqual(max, min)
  })

  it('keeps log-scale, integer, quantised, categorical and together parameters in their domains, and models them', () => {
    const h = optimise(gpSampler(0), mixed, bowl, 30)
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
      assert.deepEqual(Object.keys(a), mixed.map((p) => p.name))
    }
    // The modelled trials have learnt the learning rate's decade (it is modelled on a log scale).
    const late = h.slice(20).map((t) => Math.abs(Math.log10(t.assignment['trainer.learning_rate'] as number) + 4))
    assert.ok(late.filter((d) => d < 1).length >= 7, `late trials' |log10(lr) + 4|: ${late.map((d) => d.toFixed(2)).join(', ')}`)
  })

  it('never repeats a configuration while the space has another: all 25 points of a 5 x 5 integer grid in 25 trials', () => {
    const grid: SearchSpace = [
      { name: 'a', domain: { kind: 'int', low: 1, high: 5, log: false } },
      { name: 'b', domain: { kind: 'int', low: 1, high: 5, log: false } },
    ]
    const f = (a: Assignment) => ((a['a'] as number) - 2) ** 2 + ((a['b'] as number) - 4) ** 2
    for (const seed of [0, 1]) {
      const h = optimise(gpSampler(seed), grid, f, 26)
      assert.equal(new Set(h.slice(0, 25).map((t) => canonicalKey(t.assignment))).size, 25, `seed ${seed}`)
      assert.equal(h.length, 26, 'a full space repeats rather than stopping')
    }
  })

  it('parallel asks are distinct points away from the trials still running (kriging believer); without it they coincide', () => {
    const closest = { believer: [] as number[], none: [] as number[] }
    for (let seed = 0; seed < 4; seed++) {
      // 11 trials done: the model has taken over, but is not yet sure where the optimum is.
      const done = optimise(gpSampler(seed), plane, bump, 11)
      for (const [key, believer] of [['believer', true], ['none', false]] as const) {
        const s = gpSampler(seed, { believer })
        const h: TrialView[] = [...done]
        const points: Assignment[] = []
        for (let k = 0; k < 4; k++) {
          const p = s.next(plane, h, 'minimize')!
          points.push(p)
          h.push(trial(h.length, p, 'running'))
        }
        closest[key].push(Math.min(...points.flatMap((p, i) => points.slice(i + 1).map((q) => dist(p, q, ['x', 'y'])))))
      }
    }
    const show = (xs: number[]) => xs.map((d) => d.toFixed(4)).join(', ')
    assert.ok(Math.min(...closest.believer) > 1e-3, `closest pair of 4 parallel asks, per seed: ${show(closest.believer)}`)
    assert.ok(closest.believer.reduce((a, b) => a + b) > 0.5, `closest pairs with the believer: ${show(closest.believer)}`)
    assert.ok(Math.max(...closest.none) < 1e-3, `closest pairs without: ${show(closest.none)}`)
  })
})
