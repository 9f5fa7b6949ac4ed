// torch.nn.LayerNorm over the last axis: biased variance, eps inside the square root.
import * as tf from '@tensorflow/tfjs-core'

export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true)
    const centred = tf.sub(x, mean)
    const variance = tf.mean(tf.square(centred), -1, true)
    const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)))
    return tf.add(tf.mul(normed, weight), bias)
  })
}
