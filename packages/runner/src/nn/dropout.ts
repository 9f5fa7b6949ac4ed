// Inverted dropout as torch.nn.Dropout: in training, zero each element with probability `rate`
// and scale the rest by 1/(1-rate); identity in eval. The mask comes from the seeded Rng, so a
// run is reproducible on any backend.
import * as tf from '@tensorflow/tfjs-core'
import type { ForwardContext } from './context.ts'

export function dropout(x: tf.Tensor, rate: number, ctx: ForwardContext): tf.Tensor {
  if (!ctx.training || rate <= 0) return x
  if (rate >= 1) return tf.zerosLike(x)
  const rng = ctx.rng
  if (!rng) throw new Error('dropout in training mode needs a seeded Rng in the forward context')
  const keep = 1 / (1 - rate)
  const mask = new Float32Array(x.size)
  rng.fillDropoutMask(mask, rate, keep)
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape, 'float32')))
}
