// GELU's one-pass kernel on the wasm backend gives the bits of the tf-ops version it replaces
// (nn/activation.ts), and the gradient through it (a kernel too) is torch's.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { fusedGelu, fusedGeluGrad, GELU_GRAD_KERNEL, GELU_KERNEL } from '../../src/backend/gelu-kernel.ts'
import { gelu } from '../../src/nn/activation.ts'
import '../../src/nn/register-gradients.ts'

describe('the GELU kernel (wasm)', () => {
  before(() => selectBackend({ backend: 'wasm' }))
  after(() => selectBackend({ backend: 'cpu' }))

  test('gives the same bits as the tf-ops GELU, across [-6, 6] and beyond the clamp, tail included', () => {
    const n = 4 * 5000 + 3
    const values = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * 9 * Math.abs(Math.sin(i * 0.0007)) + 1e-3 * (i % 11))
    const x = tf.tensor1d(values)
    const fused = fusedGelu(x)
    assert.ok(fused, 'the wasm backend has the kernel')
    const { kernelFunc } = tf.getKernel(GELU_KERNEL, 'wasm')!
    tf.unregisterKernel(GELU_KERNEL, 'wasm')
    try {
      const ref = gelu(x)
      assert.deepEqual(fused[0].dataSync(), ref.dataSync())
      // erf(x / sqrt 2) at 0 and far out: exactly 0 and +-1
      const [g] = fusedGelu(tf.tensor1d([0, 40, -40])) ?? [null]
      assert.equal(g, null, 'without the kernel, fusedGelu says so')
      tf.dispose(ref)
    } finally {
      tf.registerKernel({ kernelName: GELU_KERNEL, backendName: 'wasm', kernelFunc })
    }
    const [y, cdf2] = fusedGelu(tf.tensor1d([0, 40, -40, 1]))!
    assert.deepEqual([...cdf2.dataSync()].slice(0, 3), [1, 2, 0])
    assert.deepEqual([...y.dataSync()].slice(0, 3), [0, 40, -0])
    assert.ok(Math.abs(y.dataSync()[3]! - 0.8413447460685429) < 1e-6, 'gelu(1) = Phi(1)')
    tf.dispose([x, ...fused, y, cdf2])
  })

  test('the gradient kernel is dy (Phi(x) + x phi(x)) to float32 accuracy across [-14, 14], tail included, and 0 far out', () => {
    assert.ok(tf.getKernel(GELU_GRAD_KERNEL, 'wasm'), 'the wasm backend has the kernel')
    const n = 4 * 7000 + 3
    const xs = Float32Array.from({ length: n }, (_, i) => -14 + (28 * i) / (n - 1))
    const dys = Float32Array.from({ length: n }, (_, i) => 1 + 0.5 * Math.sin(i))
    const x = tf.tensor1d(xs)
    const [, cdf2] = fusedGelu(x)!
    const dy = tf.tensor1d(dys)
    const dx = fusedGeluGrad(dy, x, cdf2)!.dataSync()
    const phi = (v: number) => Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI)
    const c = cdf2.dataSync()
    let worst = 0
    for (let i = 0; i < n; i++) {
      const v = xs[i]!
      // The kernel's own part (x phi(x)) against float64; the cdf2 it is given, as given. x^2 / 2
      // in float32 is off by up to (x^2 / 2) 6e-8, and exp carries that over as a relative error:
      // the error allowed grows with it, as it would for torch's float32 exp.
      const expected = dys[i]! * (c[i]! / 2 + v * phi(v))
      const scale = (1e-30 + Math.abs(dys[i]! * (c[i]! / 2)) + Math.abs(dys[i]! * v * phi(v))) * (1 + (v * v) / 2)
      worst = Math.max(worst, Math.abs(dx[i]! - expected) / scale)
    }
    assert.ok(worst < 3e-7, `worst error ${worst}, relative to the value and x^2 / 2`)
    const far = fusedGeluGrad(tf.ones([5]), tf.tensor1d([-40, -13.3, 13.3, 40, 0]), tf.tensor1d([0, 0, 2, 2, 1]))!.dataSync()
    assert.deepEqual([...far], [0, 0, 1, 1, 0.5])
    tf.dispose([x, cdf2, dy])
  })

  test('the gradient through it is gelu\'s: Phi(x) + x phi(x)', () => {
    const xs = [-2, -0.5, 0, 0.3, 1, 3]
    const grad = tf.grad((x: tf.Tensor) => tf.sum(gelu(x)))(tf.tensor1d(xs)).dataSync()
    const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI)
    const Phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2))
    xs.forEach((x, i) => assert.ok(Math.abs(grad[i]! - (Phi(x) + x * phi(x))) < 1e-5, `at ${x}: ${grad[i]}`))
  })
})

/** erf to 1e-7 (Abramowitz-Stegun 7.1.26 is too coarse; this is the series/continued fraction split). */
function erf(x: number): number {
  const t = Math.abs(x)
  if (t < 2.5) {
    let sum = t, term = t
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n
      sum += term / (2 * n + 1)
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum
  }
  // continued fraction for erfc
  let f = 0
  for (let n = 60; n >= 1; n--) f = (n / 2) / (t + f)
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f))
}
