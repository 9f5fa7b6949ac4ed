// Activations by their Hugging Face config names. "gelu" is the exact erf form (torch's default).
import * as tf from '@tensorflow/tfjs-core'

export type Activation = (x: tf.Tensor) => tf.Tensor

const SQRT1_2 = Math.SQRT1_2
const SQRT_2_PI = Math.sqrt(2 / Math.PI)

export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT1_2)), 1)))
}

/** gelu_new / gelu_pytorch_tanh: the tanh approximation. */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_PI)
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1))
  })
}

export const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  relu: (x) => tf.relu(x),
  tanh: (x) => tf.tanh(x),
}
