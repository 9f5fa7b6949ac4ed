// torch.nn.LayerNorm over the last axis: biased variance, eps inside the square root.
// The gradient is written out (as torch's kernel does) instead of taped: tfjs' gradients of mean
// and sum build a ones-tensor of the input's shape in JavaScript and upload it, several per layer
// norm per step, which cost more than the arithmetic.
// On wasm both passes are one kernel each (backend/layer-norm-kernel.ts), the same formulas.
import * as tf from '@tensorflow/tfjs-core'
import { fusedLayerNorm, fusedLayerNormGrad } from '../backend/layer-norm-kernel.ts'

export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const op = tf.customGrad(((xx: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const fused = fusedLayerNorm(xx, w, b, eps)
    if (fused) {
      const [value, normed, rstd] = fused
      save([normed, rstd, w])
      return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => fusedLayerNormGrad(dy, saved[0]!, saved[1]!, saved[2]!) ?? layerNormGrad(dy, saved) }
    }
    const { normed, rstd } = tf.tidy(() => {
      const mean = tf.mean(xx, -1, true)
      const centred = tf.sub(xx, mean)
      const variance = tf.mean(tf.square(centred), -1, true)
      const r = tf.rsqrt(tf.add(variance, eps))
      return { normed: tf.mul(centred, r), rstd: r }
    })
    save([normed, rstd, w])
    const value = tf.add(tf.mul(normed, w), b)
    return { value, gradFunc: layerNormGrad }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x, weight, bias)
}

/** [dx, dweight, dbias] from the saved [xhat, rstd, weight]. */
function layerNormGrad(dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] {
  const [xhat, r, ww] = saved as [tf.Tensor, tf.Tensor, tf.Tensor]
  const d = dy.shape[dy.shape.length - 1]!
  const rows = dy.size / d
  return tf.tidy(() => {
    const dy2 = tf.reshape(dy, [rows, d])
    const xhat2 = tf.reshape(xhat, [rows, d])
    const g = tf.mul(dy2, ww)
    // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), means over the normalised axis
    const mg = tf.mean(g, -1, true)
    const mgx = tf.mean(tf.mul(g, xhat2), -1, true)
    const dx = tf.mul(tf.sub(tf.sub(g, mg), tf.mul(xhat2, mgx)), tf.reshape(r, [rows, 1]))
    const dw = tf.sum(tf.mul(dy2, xhat2), 0)
    const db = tf.sum(dy2, 0)
    return [tf.reshape(dx, dy.shape), tf.reshape(dw, ww.shape), tf.reshape(db, ww.shape)]
  })
}
