// RMSNorm as transformers' LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) over the last axis (float32),
// then times the weight. The gradient is written out (as layer-norm.ts does) rather than taped:
// with xhat = x * r, r = rsqrt(mean(x^2) + eps) and g = dy * w,
//   dx = r * (g - xhat * mean(g * xhat)),   dw = sum over rows of dy * xhat,
// which keeps one activation-sized tensor (xhat) per norm for backward instead of four.
import * as tf from '@tensorflow/tfjs-core'

export function rmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  const op = tf.customGrad(((xx: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
    const { normed, rstd } = tf.tidy(() => {
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(xx), -1, true), eps))
      return { normed: tf.mul(xx, r), rstd: r }
    })
    save([normed, rstd, w])
    return { value: tf.mul(normed, w), gradFunc: rmsNormGrad }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x, weight)
}

/** [dx, dweight] from the saved [xhat, rstd, weight]. */
function rmsNormGrad(dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] {
  const [xhat, r, w] = saved as [tf.Tensor, tf.Tensor, tf.Tensor]
  const d = dy.shape[dy.shape.length - 1]!
  const rows = dy.size / d
  return tf.tidy(() => {
    const dy2 = tf.reshape(dy, [rows, d])
    const xhat2 = tf.reshape(xhat, [rows, d])
    const g = tf.mul(dy2, w)
    const dx = tf.mul(tf.sub(g, tf.mul(xhat2, tf.mean(tf.mul(g, xhat2), -1, true))), tf.reshape(r, [rows, 1]))
    const dw = tf.sum(tf.mul(dy2, xhat2), 0)
    return [tf.reshape(dx, dy.shape), tf.reshape(dw, w.shape)]
  })
}
