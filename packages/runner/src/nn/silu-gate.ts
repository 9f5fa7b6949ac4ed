// The gated MLP activation of the Llama family: silu(gate) * up (transformers' down_proj(act_fn(gate_proj(x)) * up_proj(x))
// with hidden_act silu), silu(g) = g * sigmoid(g). One op with its gradient written out, so backward
// keeps the two inputs only:
//   d gate = dy * up * s * (1 + g * (1 - s)),   d up = dy * g * s,   s = sigmoid(g).
import * as tf from '@tensorflow/tfjs-core'

export function siluGate(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    save([g, u])
    return {
      value: tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sg, su] = saved as [tf.Tensor, tf.Tensor]
        return tf.tidy(() => {
          const s = tf.sigmoid(sg)
          const dSilu = tf.mul(s, tf.add(1, tf.mul(sg, tf.sub(1, s))))
          return [tf.mul(tf.mul(dy, su), dSilu), tf.mul(dy, tf.mul(sg, s))]
        })
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(gate, up)
}
