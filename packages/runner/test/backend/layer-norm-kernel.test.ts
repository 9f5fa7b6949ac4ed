// LayerNorm's one-kernel forward and backward on the wasm backend agree with torch.nn.LayerNorm's
// definition computed in float64, and with the tf-ops version they replace (nn/layer-norm.ts).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { fusedLayerNorm, LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL } from '../../src/backend/layer-norm-kernel.ts'
import { layerNorm } from '../../src/nn/layer-norm.ts'
import '../../src/nn/register-gradients.ts'

/** Deterministic values in about [-3, 3], with an offset per row (layer norms see shifted rows). */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => 3 * Math.sin(i * 0.37 + seed) + (Math.floor(i / 7) % 5) - 2)

/** y, and the gradients of sum(y * r) for x, weight and bias, by the definition, in float64. */
function reference(x: Float32Array, w: Float32Array, b: Float32Array, r: Float32Array, d: number, eps: number) {
  const rows = x.length / d
  const y = new Float64Array(x.length), dx = new Float64Array(x.length), dw = new Float64Array(d), db = new Float64Array(d)
  for (let i = 0; i < rows; i++) {
    const row = Array.from(x.subarray(i * d, (i + 1) * d))
    const mean = row.reduce((s, v) => s + v, 0) / d
    const rstd = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / d + eps)
    const xhat = row.map((v) => (v - mean) * rstd)
    const g = xhat.map((_, j) => r[i * d + j]! * w[j]!)
    const mg = g.reduce((s, v) => s + v, 0) / d
    const mgx = g.reduce((s, v, j) => s + v * xhat[j]!, 0) / d
    for (let j = 0; j < d; j++) {
      y[i * d + j] = xhat[j]! * w[j]! + b[j]!
      dx[i * d + j] = rstd * (g[j]! - mg - xhat[j]! * mgx)
      dw[j] = dw[j]! + r[i * d + j]! * xhat[j]!
      db[j] = db[j]! + r[i * d + j]!
    }
  }
  return { y, dx, dw, db }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, what)
  let worst = 0
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)))
  assert.ok(worst < tol, `${what}: worst error ${worst}`)
}

/** The value and gradients of sum(layerNorm(x) * r), on whatever kernels are registered. */
function run(shape: number[], eps: number) {
  const d = shape[shape.length - 1]!
  const n = shape.reduce((a, c) => a * c, 1)
  const x = values(n, 1), w = values(d, 2), b = values(d, 3), r = values(n, 4)
  const [tx, tw, tb, tr] = [tf.tensor(x, shape), tf.tensor1d(w), tf.tensor1d(b), tf.tensor(r, shape)]
  const y = layerNorm(tx, tw, tb, eps)
  const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, c, e, eps), tr)))([tx, tw, tb])
  const out = { y: y.dataSync().slice(), dx: grads[0]!.dataSync().slice(), dw: grads[1]!.dataSync().slice(), db: grads[2]!.dataSync().slice(), shapes: [y.shape, grads[0]!.shape, grads[1]!.shape] }
  tf.dispose([tx, tw, tb, tr, y, ...grads])
  return { out, ref: reference(x, w, b, r, d, eps) }
}

describe('the LayerNorm kernels (wasm)', () => {
  before(() => selectBackend({ backend: 'wasm' }))
  after(() => selectBackend({ backend: 'cpu' }))

  for (const shape of [[2, 9, 768], [37, 13], [5, 4], [3, 1, 3]]) {
    test(`forward and backward are torch's LayerNorm for ${JSON.stringify(shape)} (rows of ${shape.at(-1)}${shape.at(-1)! % 4 ? ', a tail past the 4 lanes' : ''})`, () => {
      assert.ok(tf.getKernel(LAYER_NORM_KERNEL, 'wasm') && tf.getKernel(LAYER_NORM_GRAD_KERNEL, 'wasm'), 'the wasm backend has the kernels')
      const { out, ref } = run(shape, 1e-12)
      assert.deepEqual(out.shapes, [shape, shape, [shape.at(-1)]])
      assertClose(out.y, ref.y, 2e-6, 'y')
      assertClose(out.dx, ref.dx, 2e-5, 'dx')
      assertClose(out.dw, ref.dw, 2e-5, 'dweight')
      assertClose(out.db, ref.db, 1e-5, 'dbias')
    })
  }

  test('agrees with the tf-ops version it replaces, and eps is applied', () => {
    const shape = [4, 6, 32]
    const fused = run(shape, 1e-5).out
    const kernels = [LAYER_NORM_KERNEL, LAYER_NORM_GRAD_KERNEL].map((k) => tf.getKernel(k, 'wasm')!)
    for (const k of kernels) tf.unregisterKernel(k.kernelName, 'wasm')
    try {
      assert.equal(fusedLayerNorm(tf.ones([2, 4]), tf.ones([4]), tf.zeros([4]), 1e-5), null, 'without the kernel, fusedLayerNorm says so')
      const ops = run(shape, 1e-5).out
      for (const k of ['y', 'dx', 'dw', 'db'] as const) assertClose(fused[k], ops[k], 2e-6, k)
    } finally {
      for (const k of kernels) tf.registerKernel(k)
    }
    // A constant row: variance 0, so eps alone sets the scale; y is the bias.
    const [y] = fusedLayerNorm(tf.fill([1, 8], 3), tf.ones([8]), tf.fill([8], 0.5), 1e-5)!
    assert.deepEqual([...y.dataSync()], Array(8).fill(0.5))
  })
})
