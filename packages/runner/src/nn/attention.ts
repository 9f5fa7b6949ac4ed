// Multi-head scaled dot-product attention over already projected q, k, v ([B, L, D]), with an
// additive mask bias [B, 1, 1, L] (0 for tokens, the float32 minimum for padding, as transformers).
import * as tf from '@tensorflow/tfjs-core'
import { batchMatMul } from '../ops/matmul.ts'
import type { ForwardContext } from './context.ts'
import { dropout } from './dropout.ts'

/** torch.finfo(torch.float32).min */
export const FLOAT32_MIN = -3.4028234663852886e38

/** (1 - mask) * finfo.min, shaped [B, 1, 1, L] to broadcast over heads and query positions. */
export function attentionMaskBias(attentionMask: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, l] = attentionMask.shape as [number, number]
    const m = tf.cast(attentionMask, 'float32')
    return tf.reshape(tf.mul(tf.sub(1, m), FLOAT32_MIN), [b, 1, 1, l])
  })
}

export interface AttentionOptions {
  readonly heads: number
  /** DistilBERT divides q by sqrt(d_head) before q k^T; BERT divides the scores after. */
  readonly scaleQueryFirst: boolean
  readonly dropoutRate: number
}

function splitHeads(t: tf.Tensor, b: number, l: number, h: number, dh: number): tf.Tensor3D {
  return tf.reshape(tf.transpose(tf.reshape(t, [b, l, h, dh]), [0, 2, 1, 3]), [b * h, l, dh])
}

export function multiHeadAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  maskBias: tf.Tensor4D,
  opts: AttentionOptions,
  ctx: ForwardContext,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, l, d] = q.shape as [number, number, number]
    const h = opts.heads
    const dh = d / h
    const scale = Math.sqrt(dh)
    let qh = splitHeads(q, b, l, h, dh)
    if (opts.scaleQueryFirst) qh = tf.div(qh, scale)
    const kh = splitHeads(k, b, l, h, dh)
    const vh = splitHeads(v, b, l, h, dh)
    let scores: tf.Tensor = batchMatMul(qh, kh, false, true)
    if (!opts.scaleQueryFirst) scores = tf.div(scores, scale)
    scores = tf.add(tf.reshape(scores, [b, h, l, l]), maskBias)
    let probs = tf.softmax(scores, -1)
    probs = dropout(probs, opts.dropoutRate, ctx)
    const out = batchMatMul(tf.reshape(probs, [b * h, l, l]) as tf.Tensor3D, vh)
    return tf.reshape(tf.transpose(tf.reshape(out, [b, h, l, dh]), [0, 2, 1, 3]), [b, l, d]) as tf.Tensor3D
  })
}
