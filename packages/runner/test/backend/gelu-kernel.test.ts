// GELU's one-pass kernel on the wasm backend gives the bits of the tf-ops version it replaces
// (nn/activation.ts), and the gradient through it is torch's.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { fusedGelu, GELU_KERNEL } from '../../src/backend/gelu-kernel.ts'
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
