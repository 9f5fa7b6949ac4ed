import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { Param } from '../../src/nn/params.ts'
import { AdamW, noDecayNames } from '../../src/trainer/adamw.ts'
import { LrSchedule, lrMultiplier, planSteps, warmupSteps } from '../../src/trainer/schedule.ts'
import { bestMetricName, classificationMetrics, isBetter, isImprovement } from '../../src/trainer/metrics.ts'
import { epochBatches } from '../../src/trainer/batches.ts'
import { useTestBackend } from './support.ts'

before(() => useTestBackend())

const close = (a: ArrayLike<number>, b: readonly number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, what)
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`)
}

// On wasm the update is one kernel (backend/adamw-kernel.ts); on cpu it is composed of tf ops.
for (const backend of ['cpu', 'wasm'] as const)
describe(`AdamW (torch.optim.AdamW semantics) on ${backend}`, () => {
  before(() => useTestBackend(backend))
  after(() => useTestBackend())

  test('decoupled weight decay, bias corrections, and no decay for biases: three steps match torch', () => {
    const w = new Param('dense.weight', tf.tensor1d([1, -2, 0]), true)
    const b = new Param('dense.bias', tf.tensor1d([0.5, 0.25]), true)
    const opt = new AdamW([w, b], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, noDecay: noDecayNames([w, b], new Set()) })
    assert.ok(opt.decays('dense.weight') && !opt.decays('dense.bias'))
    const steps: [number[], number[], number][] = [
      [[0.5, 0.1, 0], [1, -1], 0.1],
      [[-0.5, 0.2, 1e-3], [0.5, 0.5], 0.05],
      [[0.25, -0.3, 2], [-2, 0.1], 0.02],
    ]
    // Step 1 by hand: p *= 1 - lr*wd, then m/(sqrt(v)/sqrt(1-b2)) = sign(g), so p -= lr * sign(g).
    // Steps 2-3: printed by torch 1.13 torch.optim.AdamW with the same groups (weight_decay 0.01 / 0.0).
    const expected: [number[], number[]][] = [
      [[0.899000049, -2.09800005, 0.0], [0.400000006, 0.349999994]],
      [[0.901182115, -2.14521003, -0.0372063145], [0.353391021, 0.363316834]],
      [[0.897507429, -2.14344907, -0.0499808937], [0.357518166, 0.366278797]],
    ]
    steps.forEach(([gw, gb, lr], i) => {
      const grads = new Map([['dense.weight', tf.tensor1d(gw)], ['dense.bias', tf.tensor1d(gb)]])
      const kernels = new Set<string>()
      const spy = tf.engine().runKernel.bind(tf.engine())
      tf.engine().runKernel = (name, inputs, attrs) => (kernels.add(name), spy(name, inputs, attrs))
      try {
        opt.apply(grads, lr)
      } finally {
        tf.engine().runKernel = spy
      }
      assert.equal(kernels.has('LorapipeAdamW'), backend === 'wasm', `kernels: ${[...kernels]}`)
      tf.dispose([...grads.values()])
      close(w.read(), expected[i]![0], 2e-6, `weight after step ${i + 1}`)
      close(b.read(), expected[i]![1], 2e-6, `bias after step ${i + 1}`)
    })
    assert.equal(opt.step, 3)
  })

  test('its state round-trips: a restored optimizer continues identically', () => {
    const mk = () => new Param('w', tf.tensor1d([0.3, -0.7]), true)
    const a = mk()
    const optA = new AdamW([a], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 })
    const g = (v: number[]) => new Map([['w', tf.tensor1d(v)]])
    optA.apply(g([0.1, 0.2]), 0.01)
    const saved = optA.state()
    const b = mk()
    b.assign(a.read())
    const optB = new AdamW([b], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 })
    optB.load(saved)
    optA.apply(g([-0.3, 0.05]), 0.01)
    optB.apply(g([-0.3, 0.05]), 0.01)
    assert.deepEqual(Array.from(b.read()), Array.from(a.read()))
    assert.equal(optB.step, 2)
    assert.throws(() => optB.load({ step: 1, m: new Map(), v: new Map() }), /no \(or a wrongly sized\) entry for w/)
  })

  test('keeps the tensor count flat across steps, and holds exactly m and v besides the weights', () => {
    const start = tf.memory().numBytes
    const p = new Param('w', tf.tensor2d([[1, 2], [3, 4]]), true)
    const opt = new AdamW([p], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 })
    const before = tf.memory().numTensors
    for (let i = 0; i < 5; i++) {
      const g = tf.ones([2, 2])
      opt.apply(new Map([['w', g]]), 0.1)
      g.dispose()
      assert.equal(tf.memory().numTensors, before)
      // w, m and v: 3 x 4 floats (the initial zeros of m and v are not kept once replaced)
      assert.equal(tf.memory().numBytes - start, 3 * 4 * 4)
    }
    opt.dispose()
    p.dispose()
  })
})

describe('learning-rate schedules (transformers get_scheduler)', () => {
  test('linear with warmup: rises from 0 over the warmup, then decays linearly to 0', () => {
    const m = Array.from({ length: 11 }, (_, s) => lrMultiplier('linear', s, 2, 10))
    close(m, [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0], 1e-12, 'linear')
  })

  test('cosine with warmup: half a cosine wave after the warmup', () => {
    const m = [0, 1, 2, 3, 4, 5, 6].map((s) => lrMultiplier('cosine', s, 2, 6))
    close(m, [0, 0.5, 1, 0.5 * (1 + Math.cos(Math.PI * 0.25)), 0.5, 0.5 * (1 + Math.cos(Math.PI * 0.75)), 0], 1e-12, 'cosine')
  })

  test('constant and constant_with_warmup', () => {
    close([0, 5, 100].map((s) => lrMultiplier('constant', s, 3, 10)), [1, 1, 1], 0, 'constant')
    close([0, 1, 2, 3, 9].map((s) => lrMultiplier('constant_with_warmup', s, 3, 10)), [0, 1 / 3, 2 / 3, 1, 1], 1e-12, 'constant_with_warmup')
  })

  test('step k uses the multiplier after k-1 steps (LambdaLR), so the first warmup step has rate 0', () => {
    const s = new LrSchedule('linear', 1e-3, 4, 20)
    assert.equal(s.lrForStep(1), 0)
    assert.equal(s.lrForStep(5), 1e-3)
    assert.equal(s.lrAfter(4), 1e-3)
  })

  test('warmup_steps wins over warmup_ratio; the ratio rounds up', () => {
    assert.equal(warmupSteps(250, 0, 0.1), 25)
    assert.equal(warmupSteps(251, 0, 0.1), 26)
    assert.equal(warmupSteps(251, 7, 0.1), 7)
  })

  test('steps per epoch and total steps: ceil(n / batch), fractional epochs, max_steps override', () => {
    assert.deepEqual(planSteps(2000, 16, 1, 2), { batchesPerEpoch: 125, updatesPerEpoch: 125, totalSteps: 250, epochs: 2 })
    assert.deepEqual(planSteps(10, 4, 1, 1.5), { batchesPerEpoch: 3, updatesPerEpoch: 3, totalSteps: 5, epochs: 2 })
    assert.deepEqual(planSteps(64, 8, 4, 3), { batchesPerEpoch: 8, updatesPerEpoch: 2, totalSteps: 6, epochs: 3 })
    assert.deepEqual(planSteps(64, 8, 1, 3, 20), { batchesPerEpoch: 8, updatesPerEpoch: 8, totalSteps: 20, epochs: 3 })
  })
})

describe('metrics', () => {
  test('accuracy and binary F1 of the positive class (label 1)', () => {
    // tp 2, fp 1, fn 1 -> F1 = 4 / 6
    const r = classificationMetrics([1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 1, 0], 2)
    assert.equal(r.accuracy, 4 / 6)
    assert.equal(r.f1, 4 / 6)
    assert.equal(classificationMetrics([0, 0], [0, 0], 2).f1, 0, 'no positive examples and none predicted: 0 as sklearn zero_division=0')
  })

  test('macro F1 for more than two classes', () => {
    // class 0: tp1 fp0 fn1 -> 2/3; class 1: tp1 fp1 fn0 -> 2/3; class 2: tp1 fp0 fn0 -> 1
    const r = classificationMetrics([0, 1, 1, 2], [0, 0, 1, 2], 3)
    assert.equal(r.accuracy, 0.75)
    assert.ok(Math.abs(r.f1 - (2 / 3 + 2 / 3 + 1) / 3) < 1e-12)
  })

  test('best-model and early-stopping comparisons', () => {
    assert.equal(bestMetricName('eval_accuracy'), 'accuracy')
    assert.throws(() => bestMetricName('bleu'), /metric_for_best_model/)
    assert.ok(isBetter('loss', 0.4, 0.5) && !isBetter('loss', 0.5, 0.5) && isBetter('f1', 0.6, 0.5))
    assert.ok(!isImprovement('accuracy', 0.505, 0.5, 0.01) && isImprovement('accuracy', 0.52, 0.5, 0.01))
  })
})

describe('batch order', () => {
  test('a seeded permutation per epoch: reproducible, different across epochs, covering every example once', () => {
    const o = { batchSize: 4, seed: 42, shuffle: true }
    const e0 = epochBatches(10, 0, o).map((b) => Array.from(b))
    assert.deepEqual(epochBatches(10, 0, o).map((b) => Array.from(b)), e0)
    assert.notDeepEqual(epochBatches(10, 1, o).map((b) => Array.from(b)), e0)
    assert.deepEqual(e0.map((b) => b.length), [4, 4, 2])
    assert.deepEqual(e0.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.deepEqual(epochBatches(5, 3, { batchSize: 2, seed: 1, shuffle: false }).map((b) => Array.from(b)), [[0, 1], [2, 3], [4]])
  })

  test('group_by_length puts examples of similar length together', () => {
    const lengths = Int32Array.from({ length: 64 }, (_, i) => 3 + ((i * 37) % 29))
    const batches = epochBatches(64, 0, { batchSize: 8, seed: 7, shuffle: true, lengths })
    const padding = (bs: Int32Array[]) => bs.reduce((s, b) => s + Math.max(...Array.from(b, (i) => lengths[i]!)) * b.length - Array.from(b, (i) => lengths[i]!).reduce((x, y) => x + y, 0), 0)
    const random = epochBatches(64, 0, { batchSize: 8, seed: 7, shuffle: true })
    assert.ok(padding(batches) < padding(random) / 3, `padding ${padding(batches)} vs ${padding(random)}`)
    assert.deepEqual(batches.flatMap((b) => Array.from(b)).sort((a, b) => a - b), Array.from({ length: 64 }, (_, i) => i))
  })
})
