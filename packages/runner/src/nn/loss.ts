// torch.nn.functional.cross_entropy with mean reduction: mean over the batch of
// logsumexp(logits) - logits[label].
import * as tf from '@tensorflow/tfjs-core'

/** @param logits [B, C] @param labels [B] int32 class indices */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const c = logits.shape[logits.shape.length - 1]!
    const lse = tf.logSumExp(logits, -1)
    const picked = tf.sum(tf.mul(logits, tf.oneHot(tf.cast(labels, 'int32'), c)), -1)
    return tf.mean(tf.sub(lse, picked)) as tf.Scalar
  })
}
