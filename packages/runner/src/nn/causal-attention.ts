// Causal self-attention with grouped-query heads (transformers' eager_attention_forward for the
// Llama family): scores = q k^T * head_dim^-0.5 + mask, softmax in float32, dropout on the weights
// in training, times v. num_key_value_heads < num_attention_heads shares each key/value head among
// `rep` query heads (repeat_kv: query head i reads kv head floor(i / rep)). Rather than repeating k
// and v, the query heads of a group are stacked as extra rows, so every product is one batched
// matmul over B * kv groups:
//   q [B, L, kv * rep * d] -> [B * kv, L * rep, d],  k, v [B, L, kv * d] -> [B * kv, L, d].
// The mask is additive: 0 where a query may attend a key, float32's minimum elsewhere (as
// transformers, so a row with nothing to attend stays finite, uniform, and is never used).
import * as tf from '@tensorflow/tfjs-core'
import { batchMatMul } from '../ops/matmul.ts'
import { FLOAT32_MIN } from './attention.ts'
import type { ForwardContext } from './context.ts'
import { dropout } from './dropout.ts'

export interface DecoderMask {
  readonly batchSize: number
  readonly seqLen: number
  /** 1 for tokens, 0 for padding, [B * L]. */
  readonly attentionMask: ArrayLike<number>
  /** Packed examples, 1.. per example and 0 on padding, [B * L]; null: one sequence per row. */
  readonly segmentIds?: ArrayLike<number> | null
  /** Sliding window: a query sees the keys less than `window` positions back; null: all of them. */
  readonly window?: number | null
}

/**
 * The additive mask for grouped attention, [B, 1, L * rep, L]: query i may attend key j when j <= i,
 * key j is a token, j is in i's segment, and i - j < window. Each query row is repeated `rep` times
 * (the query heads sharing a key/value head sit in consecutive rows).
 */
export function decoderMaskBias(m: DecoderMask, rep: number): tf.Tensor4D {
  const { batchSize: b, seqLen: l, attentionMask: mask } = m
  const seg = m.segmentIds ?? null
  const window = m.window ?? null
  const out = new Float32Array(b * l * rep * l).fill(FLOAT32_MIN)
  const row = new Float32Array(l)
  for (let bi = 0; bi < b; bi++) {
    const base = bi * l
    for (let i = 0; i < l; i++) {
      row.fill(FLOAT32_MIN)
      const lo = window === null ? 0 : Math.max(0, i - window + 1)
      for (let j = lo; j <= i; j++) {
        if (mask[base + j] === 0) continue
        if (seg !== null && seg[base + j] !== seg[base + i]) continue
        row[j] = 0
      }
      for (let r = 0; r < rep; r++) out.set(row, ((base + i) * rep + r) * l)
    }
  }
  return tf.tensor4d(out, [b, 1, l * rep, l], 'float32')
}

/**
 * softmax(scores * scale + maskBias) over the last axis, as transformers orders it. One op whose
 * backward keeps only its output y (which the product with v keeps anyway):
 * d scores = scale * y * (dy - sum(dy * y)). Taped, the scaled scores would be kept as well, one
 * more [B, heads, L, L] tensor per layer.
 */
export function scaledMaskedSoftmax(scores: tf.Tensor, maskBias: tf.Tensor, scale: number): tf.Tensor {
  const op = tf.customGrad(((s: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.tidy(() => tf.softmax(tf.add(tf.mul(s, scale), maskBias), -1))
    save([y])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [yy] = saved as [tf.Tensor]
        return tf.tidy(() => tf.mul(tf.mul(yy, tf.sub(dy, tf.sum(tf.mul(dy, yy), -1, true))), scale))
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(scores)
}

export interface GroupedAttentionOptions {
  readonly heads: number
  readonly kvHeads: number
  readonly headDim: number
  readonly dropoutRate: number
}

/**
 * q [B, L, heads * d], k and v [B, L, kvHeads * d] (after RoPE), maskBias from decoderMaskBias with
 * rep = heads / kvHeads. Returns the attention output [B, L, heads * d] (before o_proj).
 */
export function groupedQueryAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  maskBias: tf.Tensor4D,
  opts: GroupedAttentionOptions,
  ctx: ForwardContext,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l] = q.shape as [number, number, number]
    const { heads, kvHeads: kv, headDim: d } = opts
    const rep = heads / kv
    const groups = (t: tf.Tensor, width: number, rows: number) =>
      tf.reshape(tf.transpose(tf.reshape(t, [b, l, kv, width]), [0, 2, 1, 3]), [b * kv, rows, d]) as tf.Tensor3D
    const qg = groups(q, rep * d, l * rep)
    const kg = groups(k, d, l)
    const vg = groups(v, d, l)
    const scores = tf.reshape(batchMatMul(qg, kg, false, true), [b, kv, l * rep, l])
    let probs = scaledMaskedSoftmax(scores, maskBias, d ** -0.5)
    probs = dropout(probs, opts.dropoutRate, ctx)
    const out = batchMatMul(tf.reshape(probs, [b * kv, l * rep, l]) as tf.Tensor3D, vg) // [B * kv, L * rep, d]
    return tf.reshape(tf.transpose(tf.reshape(out, [b, kv, l, rep * d]), [0, 2, 1, 3]), [b, l, heads * d]) as tf.Tensor3D
  })
}
