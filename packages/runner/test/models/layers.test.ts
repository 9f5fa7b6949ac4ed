// The building blocks with hand-written gradients (layer norm, GELU), the dropout mask stream and
// the memory-releasing backward pass, checked against float64 formulas and tfjs' own autodiff.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from './support.ts'
import { layerNorm } from '../../src/nn/layer-norm.ts'
import { gelu } from '../../src/nn/activation.ts'
import { Rng } from '../../src/nn/rng.ts'
import { Param } from '../../src/nn/params.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import '../../src/nn/register-gradients.ts'

after(() => useBackend('cpu'))

function values(n: number, seed: number, scale = 1): number[] {
  const r = new Rng(seed)
  return Array.from({ length: n }, () => scale * r.normal())
}

/** erf in float64 (Abramowitz-Stegun 7.1.28 is too coarse; this series/continued fraction is exact to ~1e-15) */
function erf64(x: number): number {
  const ax = Math.abs(x)
  if (ax < 3) {
    let sum = ax
    let term = ax
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n
      const t = term / (2 * n + 1)
      sum += t
      if (Math.abs(t) < 1e-17) break
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum
  }
  // erfc continued fraction for large |x|
  let f = 0
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f)
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f)
  return Math.sign(x) * (1 - erfc)
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`layers on ${backend}`, () => {
    test('GELU and its gradient match the float64 formulas', async () => {
      await useBackend(backend)
      const xs = [...values(400, 1, 3), -9, -4.5, -4, -1e-3, 0, 1e-3, 4, 4.5, 9]
      const x = tf.tensor1d(xs)
      const y = gelu(x).dataSync()
      const g = tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x).dataSync()
      xs.forEach((v, i) => {
        const ref = 0.5 * v * (1 + erf64(v / Math.SQRT2))
        const dref = 0.5 * (1 + erf64(v / Math.SQRT2)) + (v * Math.exp(-v * v / 2)) / Math.sqrt(2 * Math.PI)
        assert.ok(Math.abs(y[i]! - ref) <= 2e-6 * (1 + Math.abs(ref)), `gelu(${v}) = ${y[i]}, expected ${ref}`)
        assert.ok(Math.abs(g[i]! - dref) <= 2e-6 * (1 + Math.abs(dref)), `gelu'(${v}) = ${g[i]}, expected ${dref}`)
      })
      tf.dispose(x)
    })

    test('layer norm and its gradients match tfjs autodiff of the textbook formula', async () => {
      await useBackend(backend)
      const [rows, d] = [5, 16]
      const x = tf.tensor2d(values(rows * d, 2, 2), [rows, d])
      const w = tf.tensor1d(values(d, 3))
      const b = tf.tensor1d(values(d, 4))
      const dy = tf.tensor2d(values(rows * d, 5), [rows, d])
      const plain = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
        const mean = tf.mean(xx, -1, true)
        const c = tf.sub(xx, mean)
        const v = tf.mean(tf.square(c), -1, true)
        return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(v, 1e-5))), ww), bb)
      }
      const loss = (f: typeof plain) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, bb), dy))
      const ours = tf.grads(loss((a, c, e) => layerNorm(a, c, e, 1e-5)))([x, w, b])
      const ref = tf.grads(loss(plain))([x, w, b])
      const close = (a: tf.Tensor, r: tf.Tensor, what: string) => {
        const av = a.dataSync()
        const rv = r.dataSync()
        av.forEach((v, i) => assert.ok(Math.abs(v - rv[i]!) <= 1e-5 * (1 + Math.abs(rv[i]!)), `${what}[${i}]: ${v} vs ${rv[i]}`))
      }
      close(layerNorm(x, w, b, 1e-5), plain(x, w, b), 'y')
      close(ours[0]!, ref[0]!, 'dx')
      close(ours[1]!, ref[1]!, 'dweight')
      close(ours[2]!, ref[2]!, 'dbias')
      tf.dispose([x, w, b, dy, ...ours, ...ref])
    })

    test('valueAndGrads gives tfjs variableGrads values and frees the backward temporaries', async () => {
      await useBackend(backend)
      const a = new Param('a', tf.tensor2d(values(12, 6), [3, 4]), true)
      const c = new Param('c', tf.tensor1d(values(4, 7)), true)
      const x = tf.tensor2d(values(6, 8), [2, 3])
      // a shared subexpression (h used twice) makes gradients accumulate
      const f = () => {
        const h = tf.tanh(tf.add(tf.matMul(x, a.value), c.value))
        return tf.sum(tf.mul(h, tf.add(h, gelu(h)))) as tf.Scalar
      }
      const before = tf.memory().numTensors
      const ours = valueAndGrads(f, [a, c])
      const ref = tf.variableGrads(f, [a.variable!, c.variable!])
      assert.ok(Math.abs(ours.value.dataSync()[0]! - ref.value.dataSync()[0]!) < 1e-6)
      for (const [name, v] of [['a', a.variable!], ['c', c.variable!]] as const) {
        const g = ours.grads.get(name)!.dataSync()
        const r = ref.grads[v.name]!.dataSync()
        g.forEach((val, i) => assert.ok(Math.abs(val - r[i]!) < 1e-5, `${name}[${i}]: ${val} vs ${r[i]}`))
      }
      tf.dispose([ours.value, ...ours.grads.values(), ref.value, ...Object.values(ref.grads)])
      assert.equal(tf.memory().numTensors, before, 'no tensor outlives the call')
      a.dispose()
      c.dispose()
      x.dispose()
    })
  })
}

describe('dropout masks', () => {
  test('fillDropoutMask draws the same stream as uniform() per element', () => {
    const a = new Rng(11)
    const b = new Rng(11)
    const mask = new Float32Array(10_000)
    a.fillDropoutMask(mask, 0.3, 1 / 0.7)
    const keep = Math.fround(1 / 0.7)
    let zeros = 0
    for (let i = 0; i < mask.length; i++) {
      const expected = b.uniform() < 0.3 ? 0 : keep
      assert.equal(mask[i], expected, `element ${i}`)
      if (mask[i] === 0) zeros++
    }
    assert.ok(zeros > 2700 && zeros < 3300, `${zeros} zeros of 10000 at rate 0.3`)
    // the generators stay in step afterwards
    assert.equal(a.nextUint32(), b.nextUint32())
  })
})
