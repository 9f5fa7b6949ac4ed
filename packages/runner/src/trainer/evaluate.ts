// Evaluation of a classifier on a tokenized split: mean cross-entropy over the examples, accuracy,
// F1, runtime and throughput. Eval mode (no dropout), batches padded to their longest row.
// Batches are made of examples of similar length (sorted by length, stable), so little of each
// batch is padding: attention, the one place padded positions still cost, then works on nearly
// full rows. Metrics do not depend on the order, and predictions are put back in the split's order.
import * as tf from '@tensorflow/tfjs-core'
import type { SequenceClassifier } from '../models/classifier.ts'
import type { Batch, Encoded } from '../tokenizer/tokenizer.ts'
import { classificationMetrics } from './metrics.ts'

/** What batching needs from a tokenizer: padding examples into a batch. */
export interface Collator {
  collate(examples: readonly Encoded[], indices?: ArrayLike<number>): Batch
}

/** A tokenized split with its class ids. */
export interface EncodedSplit {
  readonly encoded: readonly Encoded[]
  readonly labels: Int32Array
}

export interface EvalResult {
  readonly loss: number
  readonly accuracy: number
  readonly f1: number
  readonly runtime_s: number
  readonly samples_per_s: number
  readonly predictions: Int32Array
}

/** The tensors of a padded batch (token type ids only for models that take them). */
export function batchTensors(model: SequenceClassifier, b: Batch): { ids: tf.Tensor2D; mask: tf.Tensor2D; types: tf.Tensor2D | null } {
  const shape: [number, number] = [b.batchSize, b.seqLen]
  return {
    ids: tf.tensor2d(b.inputIds, shape, 'int32'),
    mask: tf.tensor2d(b.attentionMask, shape, 'int32'),
    types: model.family.tokenTypes ? tf.tensor2d(b.tokenTypeIds, shape, 'int32') : null,
  }
}

/** Indices of the examples ordered by length (ties in their original order). */
export function lengthOrder(encoded: readonly { readonly ids: ArrayLike<number> }[]): Int32Array {
  const order = Int32Array.from({ length: encoded.length }, (_, i) => i)
  // a stable sort on (length, index)
  return order.sort((a, b) => encoded[a]!.ids.length - encoded[b]!.ids.length || a - b)
}

export function evaluateSplit(model: SequenceClassifier, split: EncodedSplit, collator: Collator, batchSize: number): EvalResult {
  const n = split.encoded.length
  const t0 = performance.now()
  const predictions = new Int32Array(n)
  const order = lengthOrder(split.encoded)
  let lossSum = 0
  for (let s = 0; s < n; s += batchSize) {
    const idx = order.subarray(s, Math.min(n, s + batchSize))
    const b = collator.collate(split.encoded, idx)
    const [losses, preds] = tf.tidy(() => {
      const { ids, mask, types } = batchTensors(model, b)
      const logits = model.forward(ids, mask, types)
      const labels = tf.tensor1d(Int32Array.from(idx, (i) => split.labels[i]!), 'int32')
      // Per-example cross-entropy, so the mean is over examples whatever the batch sizes.
      const ce = tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, tf.oneHot(labels, logits.shape[1])), -1))
      return [tf.sum(ce), tf.argMax(logits, -1)]
    })
    lossSum += losses.dataSync()[0]!
    const p = preds.dataSync() as Int32Array
    for (let k = 0; k < idx.length; k++) predictions[idx[k]!] = p[k]!
    tf.dispose([losses, preds])
  }
  const runtime = (performance.now() - t0) / 1000
  const { accuracy, f1 } = classificationMetrics(predictions, split.labels, model.numLabels)
  return { loss: n > 0 ? lossSum / n : Number.NaN, accuracy, f1, runtime_s: runtime, samples_per_s: n / Math.max(runtime, 1e-9), predictions }
}
