// The linear layer every model uses: y = x @ W^T + b with W in PyTorch's [out, in] layout.
// CONTRACT (other modules rely on it): the signature below stays; the implementation may cache
// transposed copies of frozen weights and use custom gradients so every large matmul runs in the
// backend's fast non-transposed form (see issue 3: wasm matmul with transposeB is ~10x slower).
import * as tf from '@tensorflow/tfjs-core'

/**
 * y = x @ w^T + b.
 * @param x [..., in]
 * @param w [out, in] (a constant for frozen weights, a tf.Variable when trained)
 * @param b [out] or undefined
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D | null): tf.Tensor {
  return tf.tidy(() => {
    const inF = w.shape[1]
    const lead = x.shape.slice(0, -1)
    const x2 = tf.reshape(x, [-1, inF])
    let y = tf.matMul(x2, w, false, true)
    if (b) y = tf.add(y, b)
    return tf.reshape(y, [...lead, w.shape[0]])
  })
}
