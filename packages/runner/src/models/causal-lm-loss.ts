// The causal-LM loss as transformers computes it (loss/loss_utils.py ForCausalLMLoss): labels
// shifted left by one, cross-entropy in float32, summed over the tokens whose label is not -100 and
// divided by their number, or by `num_items_in_batch` when given. The trainer passes, for every
// micro-batch of an optimizer step, the labelled tokens of all of them (the gradient-accumulation fix
// of transformers 4.46): the accumulated gradient is then that of the mean over all those tokens,
// however they fall into micro-batches. Evaluation sums token losses and counts tokens over a whole
// split (causalLmLossSums), so its loss is the mean over all labelled tokens whatever the batching.
import * as tf from '@tensorflow/tfjs-core'
import type { ForwardOptions } from './model.ts'
import { IGNORE_INDEX, type CausalLm, type LabelledDecoderInputs } from './causal-lm.ts'

export interface CausalLmLossOptions extends ForwardOptions {
  /**
   * Divide the summed loss by this: the labelled tokens of all micro-batches accumulated into one
   * optimizer step (transformers' num_items_in_batch). Default: this batch's own labelled tokens,
   * i.e. the mean over them (transformers without accumulation; the golden base_loss).
   */
  readonly numItemsInBatch?: number
}

/** Labelled tokens of a batch after the shift (labels other than -100 past each row's first position). */
export function labelledTokens(labels: ArrayLike<number>, batchSize: number, seqLen: number): number {
  let n = 0
  for (let b = 0; b < batchSize; b++) for (let t = 1; t < seqLen; t++) if (labels[b * seqLen + t] !== IGNORE_INDEX) n++
  return n
}

/**
 * The training loss of one (micro-)batch, a differentiable scalar: summed token cross-entropy
 * divided by numItemsInBatch (default: the batch's labelled tokens). Pass it to valueAndGrads:
 *   valueAndGrads(() => causalLmLoss(model, batch, { training: true, rng, numItemsInBatch }), params)
 * A batch without labelled tokens gives 0 with zero gradients (transformers adds nothing for it
 * under num_items_in_batch).
 */
export function causalLmLoss(model: CausalLm, batch: LabelledDecoderInputs, options: CausalLmLossOptions = {}): tf.Scalar {
  const { losses, rows } = model.tokenLosses(batch, options)
  const divisor = options.numItemsInBatch ?? rows.length
  if (!(divisor > 0) && rows.length > 0) throw new RangeError(`numItemsInBatch must be positive, found ${divisor}`)
  if (rows.length === 0) {
    losses.dispose()
    // A zero that depends on a trained weight, so the gradient machinery finds its (zero) gradients.
    const p = model.trainableParameters()[0]
    return (p ? tf.tidy(() => {
      const s = tf.sum(p.value)
      return tf.sub(s, s)
    }) : tf.scalar(0)) as tf.Scalar
  }
  return tf.tidy(() => tf.div(tf.sum(losses), divisor) as tf.Scalar)
}

/** Summed loss and token counts of a batch, in total and per batch row (JavaScript numbers, float64 sums). */
export interface CausalLmLossSums {
  readonly lossSum: number
  readonly tokens: number
  readonly perRow: { readonly lossSum: Float64Array; readonly tokens: Int32Array }
}

/**
 * Evaluation (no gradient, eval mode unless asked): the summed token cross-entropy and the token
 * count. Over a split, loss = sum of lossSum / sum of tokens, perplexity = exp(loss).
 */
export function causalLmLossSums(model: CausalLm, batch: LabelledDecoderInputs, options: ForwardOptions = {}): CausalLmLossSums {
  const { losses, rows } = model.tokenLosses(batch, options)
  const values = losses.dataSync()
  losses.dispose()
  const perSum = new Float64Array(batch.batchSize)
  const perTokens = new Int32Array(batch.batchSize)
  let total = 0
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    perSum[r] = perSum[r]! + values[i]!
    perTokens[r] = perTokens[r]! + 1
    total += values[i]!
  }
  return { lossSum: total, tokens: rows.length, perRow: { lossSum: perSum, tokens: perTokens } }
}
