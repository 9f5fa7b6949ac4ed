// Batched matmul for attention ([batch, m, k] x [batch, k, n]) with optional transposes.
// CONTRACT: signature stays; the implementation may rearrange operands so the backend runs its
// fast non-transposed kernel in forward and backward.
import * as tf from '@tensorflow/tfjs-core'

export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  return tf.matMul(a, b, transposeA, transposeB)
}
