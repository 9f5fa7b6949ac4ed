// What the training loop needs of a task, so that one loop (accumulation, clipping, AdamW,
// schedules, evaluation, checkpoints, exact resume) trains both sequence classifiers and causal
// LMs: the loss and gradients of a micro-batch, how accumulated gradients and losses are
// normalised, and an evaluation. The classifier's task is exactly what the loop did before it
// took tasks (mean of the micro-batch means); the causal LM's (causal-lm-task.ts) divides every
// micro-batch's summed token loss by the labelled tokens of all micro-batches of the step
// (transformers >= 4.46, num_items_in_batch).
import * as tf from '@tensorflow/tfjs-core'
import type { PretrainedModel } from '../models/model.ts'
import type { SequenceClassifier } from '../models/classifier.ts'
import { valueAndGrads } from '../nn/grads.ts'
import { crossEntropy } from '../nn/loss.ts'
import type { Param } from '../nn/params.ts'
import type { Rng as DropoutRng } from '../nn/rng.ts'
import { TextTokenizer } from '../tokenizer/tokenizer.ts'
import { batchTensors, evaluateSplit, type Collator, type EncodedSplit } from './evaluate.ts'

/** One micro-batch's contribution to an optimizer step. */
export interface MicroResult {
  /** Its loss as the step's loss adds it up (a mean for classifiers, a share of the step's token mean for causal LMs). */
  readonly loss: number
  readonly grads: Map<string, tf.Tensor>
  /** Examples (sequences) in it. */
  readonly samples: number
  /** Real (not padding) tokens in it, for tasks that report tokens/s (causal LMs). */
  readonly tokens?: number
}

/** An evaluation's figures; `accuracy`/`f1` for classifiers, `perplexity` for causal LMs. */
export interface TaskEval {
  readonly loss: number
  readonly accuracy?: number
  readonly f1?: number
  readonly perplexity?: number
  readonly runtime_s: number
  readonly samples_per_s: number
  readonly tokens_per_s?: number
}

export interface TrainTask {
  readonly model: PretrainedModel
  /** Training examples (sequences, for a packed causal LM). */
  readonly size: number
  /** Unpadded lengths of the examples (group_by_length). */
  lengths(): ArrayLike<number>
  /** Called with every micro-batch of an optimizer step before the first of them runs. */
  beginStep(microBatches: readonly Int32Array[]): void
  /** Loss and gradients of one micro-batch of the step (training mode, this dropout stream). */
  microBatch(indices: Int32Array, rng: DropoutRng, params: readonly Param[]): MicroResult
  /** Factor the summed gradients of `micro` micro-batches are multiplied by. */
  gradScale(micro: number): number
  /** The step's loss from the summed micro-batch losses. */
  stepLoss(lossSum: number, micro: number): number
  /** Whether there is an eval split. */
  readonly hasEval: boolean
  evaluate(batchSize: number): TaskEval
}

/** The classifier's task: cross-entropy over the examples, the mean of the micro-batch means. */
export function classifierTask(model: SequenceClassifier, train: EncodedSplit, evalSplit: EncodedSplit | undefined, collator: Collator): TrainTask {
  return {
    model,
    size: train.encoded.length,
    lengths: () => TextTokenizer.lengths(train.encoded),
    beginStep: () => {},
    microBatch(idx, rng, params) {
      const b = collator.collate(train.encoded, idx)
      const { ids, mask, types } = batchTensors(model, b)
      const labels = tf.tensor1d(Int32Array.from(idx, (i) => train.labels[i]!), 'int32')
      const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(ids, mask, types, { training: true, rng }), labels), [...params])
      tf.dispose([ids, mask, labels, ...(types ? [types] : [])])
      const loss = value.dataSync()[0]!
      value.dispose()
      return { loss, grads, samples: idx.length }
    },
    gradScale: (micro) => 1 / micro,
    stepLoss: (lossSum, micro) => lossSum / micro,
    hasEval: evalSplit !== undefined,
    evaluate(batchSize) {
      const r = evaluateSplit(model, evalSplit!, collator, batchSize)
      return { loss: r.loss, accuracy: r.accuracy, f1: r.f1, runtime_s: r.runtime_s, samples_per_s: r.samples_per_s }
    },
  }
}
