// The ops a BERT-like model trains with must run forward and backward on wasm and agree with the
// cpu backend (tfjs' reference implementation). UnsortedSegmentSum (the gradient of gather, i.e.
// of the embeddings) is missing from tfjs-backend-wasm and registered by selectBackend.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import '../../src/nn/register-gradients.ts'
import { selectBackend } from '../../src/backend/select.ts'
import { unsortedSegmentSumInto } from '../../src/backend/kernels.ts'
import { values } from '../support/values.ts'


/** value and gradient wrt x of sum(f(x) * weights), as plain arrays */
function valueAndGrad(f: (x: tf.Tensor) => tf.Tensor, shape: number[], seed: number) {
  return tf.tidy(() => {
    const x = tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape)
    const y = f(x)
    const w = tf.tensor(values(y.size, seed + 1), y.shape)
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), w)))(x)
    return { y: y.dataSync() as Float32Array, g: g.dataSync() as Float32Array }
  })
}

function close(a: Float32Array, b: Float32Array, tol: number, what: string) {
  assert.equal(a.length, b.length, what)
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!)
    assert.ok(d <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`)
  }
}

const erfGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))
const layerNorm = (x: tf.Tensor) => {
  const mean = tf.mean(x, -1, true)
  const c = tf.sub(x, mean)
  const variance = tf.mean(tf.square(c), -1, true)
  return tf.mul(c, tf.rsqrt(tf.add(variance, 1e-12)))
}
const ids = () => tf.tensor1d([3, 0, 7, 3, 9, 1], 'int32')

const CASES: Record<string, { f: (x: tf.Tensor) => tf.Tensor; shape: number[] }> = {
  'gather (embedding lookup) and its gradient UnsortedSegmentSum': { f: (x) => tf.gather(x, ids()), shape: [10, 4] },
  'layer norm (mean, variance, rsqrt)': { f: layerNorm, shape: [3, 5, 8] },
  'exact GELU via erf': { f: erfGelu, shape: [4, 6] },
  'softmax over the last axis': { f: (x) => tf.softmax(x, -1), shape: [2, 3, 7] },
  'logSoftmax / cross-entropy pieces': { f: (x) => tf.sub(tf.logSumExp(x, -1, true), x), shape: [4, 3] },
  tanh: { f: (x) => tf.tanh(x), shape: [5, 5] },
  relu: { f: (x) => tf.relu(x), shape: [5, 5] },
  'where / select with a mask': {
    f: (x) => tf.where(tf.greater(tf.tensor(values(x.size, 99), x.shape), 0), x, tf.mul(x, -3)),
    shape: [4, 6],
  },
  'slice, concat, transpose, reshape': {
    f: (x) => tf.reshape(tf.transpose(tf.concat([tf.slice(x, [0, 1], [3, 2]), x], 1), [1, 0]), [3, -1]),
    shape: [3, 4],
  },
  'masked scores (add of the float32 minimum) then softmax': {
    f: (x) => tf.softmax(tf.add(x, tf.tensor([0, 0, -3.4028234663852886e38, 0])), -1),
    shape: [3, 4],
  },
}

describe('kernels needed for training on wasm', () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(`${name}: forward and gradient match the cpu backend`, async () => {
      await selectBackend({ backend: 'cpu', env: {} })
      const ref = valueAndGrad(c.f, c.shape, 7)
      await selectBackend({ backend: 'wasm', env: {} })
      const got = valueAndGrad(c.f, c.shape, 7)
      close(got.y, ref.y, 1e-5, 'value')
      close(got.g, ref.g, 1e-5, 'gradient')
    })
  }

  test('dropout-style masking with random uniform numbers runs on wasm', async () => {
    await selectBackend({ backend: 'wasm', env: {} })
    const g = tf.tidy(() => {
      const x = tf.ones([200])
      const keep = tf.cast(tf.greaterEqual(tf.randomUniform([200], 0, 1, 'float32', 3), 0.1), 'float32')
      return tf.grad((xx: tf.Tensor) => tf.sum(tf.div(tf.mul(xx, keep), 0.9)))(x).dataSync()
    })
    const distinct = new Set(Array.from(g, (v) => v.toFixed(5)))
    assert.deepEqual([...distinct].sort(), ['0.00000', '1.11111'])
  })

  test('UnsortedSegmentSum sums rows per segment and drops out-of-range ids (no backend)', () => {
    const x = new Float32Array([1, 2, 10, 20, 100, 200, 5, 5])
    const out = new Float32Array(3 * 2)
    unsortedSegmentSumInto(x, [2, 0, 2, 7], 3, 2, out)
    assert.deepEqual(Array.from(out), [10, 20, 0, 0, 101, 202])
  })

  test('UnsortedSegmentSum on wasm matches the cpu backend for rows of a 3D tensor', async () => {
    const run = () =>
      tf.tidy(() =>
        tf.unsortedSegmentSum(tf.tensor3d(values(6 * 2 * 3, 5), [6, 2, 3]), tf.tensor1d([1, 0, 4, 1, 1, 2], 'int32'), 5).dataSync(),
      )
    await selectBackend({ backend: 'cpu', env: {} })
    const ref = run() as Float32Array
    await selectBackend({ backend: 'wasm', env: {} })
    close(run() as Float32Array, ref, 1e-6, 'sum')
  })

  test('gathering rows on wasm matches the cpu backend and rejects an index out of range', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor3d(values(5 * 2 * 3, 9), [5, 2, 3])
        const rows = tf.gather(x, tf.tensor1d([4, 0, 4, 2], 'int32')).dataSync()
        const cols = tf.gather(x, tf.tensor1d([2, 0], 'int32'), 2).dataSync() // another axis: tfjs' own kernel
        const ints = tf.gather(tf.tensor1d([7, 8, 9], 'int32'), tf.tensor2d([[2, 0], [1, 1]], undefined, 'int32')).dataSync()
        return { rows: rows as Float32Array, cols: cols as Float32Array, ints: Array.from(ints) }
      })
    await selectBackend({ backend: 'cpu', env: {} })
    const ref = run()
    await selectBackend({ backend: 'wasm', env: {} })
    const got = run()
    close(got.rows, ref.rows, 0, 'rows')
    close(got.cols, ref.cols, 0, 'cols')
    assert.deepEqual(got.ints, [9, 7, 8, 8])
    assert.throws(() => tf.tidy(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([0, 3], 'int32')).dataSync()), /index value 3 is not in \[0, 2\]/)
  })

  test('a clone on wasm shares the data and outlives the original', async () => {
    await selectBackend({ backend: 'wasm', env: {} })
    const x = tf.tensor2d([[1, 2], [3, 4]])
    const y = tf.clone(x)
    assert.equal(y.dataId, x.dataId, 'the clone refers to the same data (tensors are immutable)')
    x.dispose()
    assert.deepEqual(y.arraySync(), [[1, 2], [3, 4]])
    y.dispose()
  })
})

