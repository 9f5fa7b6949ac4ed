// The decoder's building blocks against plain references: values against float64 loops written
// from the formulas, and the hand-written gradients against tf.js' own autodiff of the same formulas
// (which are PyTorch's). Run on the wasm backend, the one training uses.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { rmsNorm } from '../../src/nn/rms-norm.ts'
import { siluGate } from '../../src/nn/silu-gate.ts'
import { applyRope, ropeInverseFrequencies, RopeTable } from '../../src/nn/rope.ts'
import { decoderMaskBias, groupedQueryAttention } from '../../src/nn/causal-attention.ts'
import { embedding } from '../../src/nn/embedding.ts'
import { CHUNK_FLOATS, linearCrossEntropy, tokenCrossEntropy } from '../../src/nn/token-cross-entropy.ts'
import { EVAL } from '../../src/nn/context.ts'
import { Rng } from '../../src/nn/rng.ts'
import '../../src/nn/register-gradients.ts'

before(async () => {
  await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
})

const rng = new Rng(7)
const normal = (shape: number[], std = 1) => tf.tensor(rng.fillNormal(shape.reduce((a, b) => a * b, 1), 0, std), shape)
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!)

/** Gradients of sum(f(...) * dy) with respect to every input, by the op and by the reference. */
function compareGrads(op: (...x: tf.Tensor[]) => tf.Tensor, ref: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], tol = 1e-5): void {
  const dy = normal(op(...inputs).shape)
  const a = tf.grads((...x: tf.Tensor[]) => tf.sum(tf.mul(op(...x), dy)))(inputs)
  const b = tf.grads((...x: tf.Tensor[]) => tf.sum(tf.mul(ref(...x), dy)))(inputs)
  assert.ok(maxDiff(op(...inputs), ref(...inputs)) <= tol, 'values')
  a.forEach((g, i) => assert.ok(maxDiff(g, b[i]!) <= tol, `gradient of input ${i}: ${maxDiff(g, b[i]!)}`))
}

describe('RMSNorm', () => {
  test('is x / sqrt(mean(x^2) + eps) * weight, with the gradient of that formula', () => {
    const x = normal([6, 10])
    const w = tf.add(normal([10], 0.1), 1)
    const ref = (xx: tf.Tensor, ww: tf.Tensor) => tf.mul(tf.div(xx, tf.sqrt(tf.add(tf.mean(tf.square(xx), -1, true), 1e-5))), ww)
    compareGrads((a, b) => rmsNorm(a!, b!, 1e-5), ref, [x, w])
    const v = x.arraySync() as number[][]
    const out = rmsNorm(x, w, 1e-5).arraySync() as number[][]
    const wv = w.dataSync()
    v.forEach((row, i) => {
      const r = 1 / Math.sqrt(row.reduce((s, t) => s + t * t, 0) / row.length + 1e-5)
      row.forEach((t, j) => assert.ok(Math.abs(out[i]![j]! - t * r * wv[j]!) < 1e-6))
    })
  })
})

describe('SiLU gate', () => {
  test('is silu(gate) * up with silu(g) = g sigmoid(g), and its gradient', () => {
    compareGrads((g, u) => siluGate(g!, u!), (g, u) => tf.mul(tf.mul(g!, tf.sigmoid(g!)), u!), [normal([5, 12], 2), normal([5, 12])])
  })
})

describe('rotary embeddings', () => {
  test('inverse frequencies: 1 / theta^(2i/d), linear divides by the factor, llama3 as Meta\'s reference formula', () => {
    const d = 64
    const base = ropeInverseFrequencies(d, 500000, null)
    base.forEach((v, i) => assert.ok(Math.abs(v - 1 / 500000 ** ((2 * i) / d)) <= 1e-7 * (1 / 500000 ** ((2 * i) / d))))
    const lin = ropeInverseFrequencies(d, 500000, { kind: 'linear', factor: 4 })
    lin.forEach((v, i) => assert.ok(Math.abs(v - base[i]! / 4) <= 1e-6 * v))
    // Meta's apply_scaling (llama-models, Llama 3.1): the same three bands
    const s = { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }
    const l3 = ropeInverseFrequencies(d, 500000, { kind: 'llama3', ...s })
    const bands = new Set<string>()
    base.forEach((freq, i) => {
      const wavelen = (2 * Math.PI) / freq
      let want: number
      if (wavelen < s.originalMaxPositionEmbeddings / s.highFreqFactor) (want = freq), bands.add('high')
      else if (wavelen > s.originalMaxPositionEmbeddings / s.lowFreqFactor) (want = freq / s.factor), bands.add('low')
      else {
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor)
        want = (1 - smooth) * (freq / s.factor) + smooth * freq
        bands.add('medium')
      }
      assert.ok(Math.abs(l3[i]! - want) <= 1e-5 * want, `inv_freq[${i}]: ${l3[i]} vs ${want}`)
    })
    assert.deepEqual([...bands].sort(), ['high', 'low', 'medium'])
  })

  test('rotates the two halves of each head by position * frequency (cos, sin), and back for the gradient', () => {
    const d = 8
    const table = new RopeTable(ropeInverseFrequencies(d, 10000, null), 100)
    const positions = [0, 3, 41]
    const { cos, sinSigned } = table.rows(positions)
    const c = tf.tensor3d(cos, [3, 1, d])
    const s = tf.tensor3d(sinSigned, [3, 1, d])
    const x = normal([3, 2, d])
    const out = applyRope(x, c, s).arraySync() as number[][][]
    const xv = x.arraySync() as number[][][]
    const inv = ropeInverseFrequencies(d, 10000, null)
    positions.forEach((p, r) =>
      [0, 1].forEach((h) => {
        for (let i = 0; i < d / 2; i++) {
          const a = p * inv[i]!
          const [x1, x2] = [xv[r]![h]![i]!, xv[r]![h]![i + d / 2]!]
          assert.ok(Math.abs(out[r]![h]![i]! - (x1 * Math.cos(a) - x2 * Math.sin(a))) < 1e-5)
          assert.ok(Math.abs(out[r]![h]![i + d / 2]! - (x2 * Math.cos(a) + x1 * Math.sin(a))) < 1e-5)
        }
      }),
    )
    const rotateHalf = (t: tf.Tensor) => {
      const [a, b] = tf.split(t, 2, -1)
      return tf.concat([tf.neg(b!), a!], -1)
    }
    const sin = tf.tensor3d(sinSigned.map((v, i) => (i % d < d / 2 ? -v : v)), [3, 1, d])
    compareGrads((t) => applyRope(t!, c, s), (t) => tf.add(tf.mul(t!, c), tf.mul(rotateHalf(t!), sin)), [x])
  })

  test('refuses a position at or past max_position_embeddings', () => {
    const table = new RopeTable(ropeInverseFrequencies(8, 10000, null), 16)
    assert.throws(() => table.rows([3, 16]), /position id 16 is outside \[0, 16\)/)
  })
})

/** Per head, per query: softmax over the allowed keys (float64), kv head = head / (heads / kvHeads). */
function referenceAttention(q: number[][][], k: number[][][], v: number[][][], heads: number, kvHeads: number, d: number, allowed: (b: number, i: number, j: number) => boolean): number[][][] {
  return q.map((rows, b) =>
    rows.map((qi, i) => {
      const out = new Array(heads * d).fill(0)
      for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / (heads / kvHeads))
        const scores: number[] = []
        for (let j = 0; j < rows.length; j++) {
          let s = 0
          for (let c = 0; c < d; c++) s += qi[h * d + c]! * k[b]![j]![g * d + c]!
          scores.push(allowed(b, i, j) ? s / Math.sqrt(d) : -Infinity)
        }
        const m = Math.max(...scores)
        const e = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - m)))
        const z = e.reduce((a, x) => a + x, 0)
        for (let j = 0; j < rows.length; j++) for (let c = 0; c < d; c++) out[h * d + c] += (e[j]! / z) * v[b]![j]![g * d + c]!
      }
      return out
    }),
  )
}

describe('grouped-query causal attention', () => {
  const B = 2
  const L = 7
  const d = 4
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
  const segments = [1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0]
  for (const [heads, kvHeads] of [[4, 4], [4, 2], [4, 1], [6, 3]] as const) {
    for (const [what, window, seg] of [['causal + padding', null, null], ['a sliding window of 3', 3, null], ['packed segments', null, segments]] as const) {
      test(`${heads} query heads on ${kvHeads} key/value heads, ${what}: each head reads its group's keys and values`, () => {
        const q = normal([B, L, heads * d])
        const k = normal([B, L, kvHeads * d])
        const v = normal([B, L, kvHeads * d])
        const bias = decoderMaskBias({ batchSize: B, seqLen: L, attentionMask: mask, segmentIds: seg, window }, heads / kvHeads)
        const out = groupedQueryAttention(q, k, v, bias, { heads, kvHeads, headDim: d, dropoutRate: 0 }, EVAL).arraySync() as number[][][]
        const allowed = (b: number, i: number, j: number) =>
          j <= i && mask[b * L + j] === 1 && (window === null || i - j < window) && (seg === null || seg[b * L + i] === seg[b * L + j])
        const want = referenceAttention(q.arraySync() as number[][][], k.arraySync() as number[][][], v.arraySync() as number[][][], heads, kvHeads, d, allowed)
        let max = 0
        for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) if (mask[b * L + i]) want[b]![i]!.forEach((x, c) => (max = Math.max(max, Math.abs(x - out[b]![i]![c]!))))
        assert.ok(max < 1e-5, `differs by ${max}`)
      })
    }
  }

  test('a query with no key to attend (left padding) stays finite', () => {
    const bias = decoderMaskBias({ batchSize: 1, seqLen: 3, attentionMask: [0, 1, 1] }, 1)
    const out = groupedQueryAttention(normal([1, 3, 4]), normal([1, 3, 4]), normal([1, 3, 4]), bias, { heads: 1, kvHeads: 1, headDim: 4, dropoutRate: 0 }, EVAL)
    assert.ok((out.dataSync() as Float32Array).every(Number.isFinite))
  })
})

describe('embedding lookup', () => {
  test('the padding row gets no gradient, the others the sum over their occurrences', () => {
    const table = normal([6, 3])
    const ids = tf.tensor1d([2, 0, 2, 5, 0], 'int32')
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embedding(t, ids, 0), tf.ones([5, 3]))))(table).arraySync() as number[][]
    assert.deepEqual(g, [[0, 0, 0], [0, 0, 0], [2, 2, 2], [0, 0, 0], [0, 0, 0], [1, 1, 1]])
    const free = tf.grad((t: tf.Tensor) => tf.sum(embedding(t, ids, null)))(table).arraySync() as number[][]
    assert.deepEqual(free[0], [2, 2, 2])
  })
})

describe('token cross-entropy through the output layer', () => {
  test('equals the cross-entropy of the full logits, value and gradients, in one chunk and in several', () => {
    const V = 300
    const T = 10
    const x = normal([T, 8]) as tf.Tensor2D
    const w = normal([V, 8], 0.5) as tf.Tensor2D
    const targets = tf.tensor1d(Int32Array.from({ length: T }, (_, i) => (i * 7919) % V), 'int32')
    for (const chunkFloats of [CHUNK_FLOATS, 3 * V, 1]) {
      compareGrads(
        (a, b) => linearCrossEntropy(a as tf.Tensor2D, b as tf.Tensor2D, targets, chunkFloats),
        (a, b) => tokenCrossEntropy(tf.matMul(a!, b!, false, true) as tf.Tensor2D, targets),
        [x, w],
      )
    }
  })

  test('is log-sum-exp minus the target logit, per token', () => {
    const logits = tf.tensor2d([[1, 2, 3], [0, 0, 0]])
    const ce = tokenCrossEntropy(logits, tf.tensor1d([2, 1], 'int32')).arraySync() as number[]
    assert.ok(Math.abs(ce[0]! - (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3)) < 1e-6)
    assert.ok(Math.abs(ce[1]! - Math.log(3)) < 1e-6)
  })
})
