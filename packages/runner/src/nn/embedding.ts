// torch.nn.Embedding lookup: rows of the table by token id. With padding_idx (transformers' Llama
// family passes config.pad_token_id) the padding row gets no gradient, so full fine-tuning leaves it
// as it was; the other rows' gradient is the sum over their occurrences (gather's own gradient).
import * as tf from '@tensorflow/tfjs-core'

/** table [V, D], ids int32 [N] -> [N, D]. */
export function embedding(table: tf.Tensor, ids: tf.Tensor1D, paddingIdx: number | null): tf.Tensor2D {
  const op = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids])
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const idx = saved[0] as tf.Tensor1D
        return tf.tidy(() => {
          const rows = paddingIdx === null ? dy : tf.mul(dy, tf.reshape(tf.cast(tf.notEqual(idx, paddingIdx), 'float32'), [-1, 1]))
          return tf.unsortedSegmentSum(rows, idx, t.shape[0]!)
        })
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(table) as tf.Tensor2D
}
