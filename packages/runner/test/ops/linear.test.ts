// linear / batchMatMul in the 'fast' strategy must give the same values and gradients as plain
// tf.matMul with tfjs' own autodiff (the reference), on the cpu backend and on wasm.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import '../../src/nn/register-gradients.ts'
import { selectBackend } from '../../src/backend/select.ts'
import { linear } from '../../src/ops/linear.ts'
import { batchMatMul, setMatmulStrategy, type MatmulStrategy } from '../../src/ops/matmul.ts'
import { releaseTransposed } from '../../src/ops/transpose.ts'
import { values } from '../support/values.ts'


type Arrays = Float32Array[]

/** Runs f under a strategy on a backend and returns the output and the gradients as plain arrays. */
async function run(
  backend: 'cpu' | 'wasm',
  strategy: MatmulStrategy,
  f: () => { out: Arrays; grads: Arrays },
): Promise<{ out: Arrays; grads: Arrays }> {
  await selectBackend({ backend, threads: 2, env: {} })
  setMatmulStrategy(strategy)
  try {
    return f()
  } finally {
    setMatmulStrategy(undefined)
  }
}

function assertClose(actual: Arrays, expected: Arrays, what: string, rel = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: count`)
  actual.forEach((a, i) => {
    const e = expected[i]!
    assert.equal(a.length, e.length, `${what}[${i}]: size`)
    let maxRef = 0
    let maxDiff = 0
    for (let j = 0; j < e.length; j++) {
      maxRef = Math.max(maxRef, Math.abs(e[j]!))
      maxDiff = Math.max(maxDiff, Math.abs(a[j]! - e[j]!))
    }
    assert.ok(maxDiff <= rel * Math.max(maxRef, 1e-6), `${what}[${i}]: max |diff| ${maxDiff} vs max |ref| ${maxRef}`)
  })
}

const weightedSum = (y: tf.Tensor, seed: number) => tf.sum(tf.mul(y, tf.tensor(values(y.size, seed), y.shape)))

/** A linear layer with a loss that weights every output, gradients wrt the trainable inputs. */
function linearCase(opts: { trainW: boolean; bias: boolean; trainX: boolean }) {
  return () =>
    tf.tidy(() => {
      const x = tf.tensor3d(values(2 * 5 * 12, 1), [2, 5, 12])
      const wData = tf.tensor2d(values(7 * 12, 2), [7, 12])
      const w = opts.trainW ? tf.variable(wData, true) : wData
      const b = opts.bias ? tf.tensor1d(values(7, 3)) : undefined
      const xs: tf.Tensor[] = []
      if (opts.trainX) xs.push(x)
      if (opts.trainW) xs.push(w)
      if (b) xs.push(b)
      const f = (...args: tf.Tensor[]) => {
        let i = 0
        const xx = opts.trainX ? args[i++]! : x
        const ww = opts.trainW ? (args[i++]! as tf.Tensor2D) : w
        const bb = b ? (args[i++]! as tf.Tensor1D) : undefined
        return weightedSum(linear(xx, ww, bb), 4)
      }
      const out = linear(x, w, b).dataSync() as Float32Array
      const grads = tf.grads(f)(xs).map((g) => g.dataSync() as Float32Array)
      if (w instanceof tf.Variable) w.dispose()
      releaseTransposed(wData)
      return { out: [out], grads }
    })
}

describe('linear (x @ W^T + b, W [out, in])', () => {
  after(() => setMatmulStrategy(undefined))
  for (const c of [
    { trainW: true, bias: true, trainX: true },
    { trainW: false, bias: true, trainX: true },
    { trainW: false, bias: false, trainX: true },
    { trainW: true, bias: false, trainX: false },
  ]) {
    const name = `W ${c.trainW ? 'trained' : 'frozen'}, ${c.bias ? 'with' : 'no'} bias, dx ${c.trainX ? 'needed' : 'not needed'}`
    test(`matches tf.matMul and its autodiff on cpu: ${name}`, async () => {
      const ref = await run('cpu', 'tfjs', linearCase(c))
      assertClose((await run('cpu', 'fast', linearCase(c))).out, ref.out, 'out')
      assertClose((await run('cpu', 'fast', linearCase(c))).grads, ref.grads, 'grads')
    })
    test(`matches the cpu reference on wasm: ${name}`, async () => {
      const ref = await run('cpu', 'tfjs', linearCase(c))
      const got = await run('wasm', 'fast', linearCase(c))
      assertClose(got.out, ref.out, 'out')
      assertClose(got.grads, ref.grads, 'grads')
    })
  }

  test('computes no weight gradient for a frozen weight (only x is differentiated)', async () => {
    await selectBackend({ backend: 'wasm', env: {} })
    setMatmulStrategy('fast')
    const x = tf.tensor2d(values(4 * 6, 5), [4, 6])
    const w = tf.tensor2d(values(3 * 6, 6), [3, 6])
    try {
      tf.tidy(() => linear(x, w)) // builds the cached W^T
      const p = await tf.profile(() => tf.grads((xx: tf.Tensor) => tf.sum(linear(xx, w)))([x]))
      // forward: the linear kernel; backward: dx = dy @ W only (no transpose of dy, no dW product)
      assert.ok(p.kernelNames.includes('LorapipeLinear'), p.kernelNames.join(', '))
      assert.equal(p.kernelNames.filter((k) => k === 'Transpose').length, 0, `kernels run: ${p.kernelNames.join(', ')}`)
      assert.equal(p.kernelNames.filter((k) => k === 'BatchMatMul' || k === '_FusedMatMul').length, 1, `kernels run: ${p.kernelNames.join(', ')}`)
    } finally {
      setMatmulStrategy(undefined)
      releaseTransposed(w)
      tf.dispose([x, w])
    }
  })

  test('LoRA path linear(linear(x, A), B) with A [r,in], B [out,r] trained matches autodiff on wasm', async () => {
    const lora = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(values(9 * 16, 7), [9, 16])
        const w0 = tf.tensor2d(values(16 * 16, 8), [16, 16])
        const A = tf.variable(tf.tensor2d(values(4 * 16, 9), [4, 16]))
        const B = tf.variable(tf.tensor2d(values(16 * 4, 10), [16, 4]))
        const f = (a: tf.Tensor, bb: tf.Tensor) =>
          weightedSum(tf.add(linear(x, w0), tf.mul(linear(linear(x, a as tf.Tensor2D), bb as tf.Tensor2D), 2)), 11)
        const grads = tf.grads(f)([A, B]).map((g) => g.dataSync() as Float32Array)
        const out = f(A, B).dataSync() as Float32Array
        A.dispose()
        B.dispose()
        releaseTransposed(w0)
        return { out: [out], grads }
      })
    const ref = await run('cpu', 'tfjs', lora)
    const got = await run('wasm', 'fast', lora)
    assertClose(got.out, ref.out, 'out')
    assertClose(got.grads, ref.grads, 'grads')
  })

  test('rejects a weight whose in-features do not match x', () => {
    assert.throws(() => linear(tf.zeros([2, 5]), tf.zeros([3, 4]) as tf.Tensor2D), /input has 5 features, weight \[3,4\] expects 4/)
  })
})

describe('batchMatMul (attention products)', () => {
  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    test(`matches tf.matMul and its autodiff with transposeA=${ta}, transposeB=${tb} on wasm and cpu`, async () => {
      const G = 6, M = 5, K = 8, N = 3
      const c = () =>
        tf.tidy(() => {
          const a = tf.tensor3d(values(G * M * K, 12), ta ? [G, K, M] : [G, M, K])
          const b = tf.tensor3d(values(G * K * N, 13), tb ? [G, N, K] : [G, K, N])
          const f = (x: tf.Tensor, y: tf.Tensor) => weightedSum(batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D, ta, tb), 14)
          const out = batchMatMul(a, b, ta, tb).dataSync() as Float32Array
          return { out: [out], grads: tf.grads(f)([a, b]).map((g) => g.dataSync() as Float32Array) }
        })
      const ref = await run('cpu', 'tfjs', c)
      for (const backend of ['cpu', 'wasm'] as const) {
        const got = await run(backend, 'fast', c)
        assertClose(got.out, ref.out, `${backend} out`)
        assertClose(got.grads, ref.grads, `${backend} grads`)
      }
    })
  }

  test('handles a single matrix (batch 1) through the plain product', async () => {
    const c = () =>
      tf.tidy(() => {
        const a = tf.tensor3d(values(1 * 4 * 6, 15), [1, 4, 6])
        const b = tf.tensor3d(values(1 * 5 * 6, 16), [1, 5, 6])
        const f = (x: tf.Tensor, y: tf.Tensor) => weightedSum(batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D, false, true), 17)
        return { out: [batchMatMul(a, b, false, true).dataSync() as Float32Array], grads: tf.grads(f)([a, b]).map((g) => g.dataSync() as Float32Array) }
      })
    const ref = await run('cpu', 'tfjs', c)
    const got = await run('wasm', 'fast', c)
    assertClose(got.out, ref.out, 'out')
    assertClose(got.grads, ref.grads, 'grads')
  })

  test('rejects mismatched inner dimensions with the shapes in the message', async () => {
    await selectBackend({ backend: 'wasm', env: {} })
    setMatmulStrategy('fast')
    try {
      assert.throws(() => batchMatMul(tf.zeros([2, 3, 4]) as tf.Tensor3D, tf.zeros([2, 5, 6]) as tf.Tensor3D), /inner dimensions differ \(4 vs 5\)/)
    } finally {
      setMatmulStrategy(undefined)
    }
  })
})
