// The causal LM's training task: SFT sequences (examples, or packed ones) padded per micro-batch
// as TRL's collator does; each micro-batch's summed token cross-entropy is divided by the labelled
// tokens of all micro-batches of its optimizer step (transformers >= 4.46, num_items_in_batch), so
// the accumulated gradient is that of the mean over all of them however they fall into
// micro-batches, and the step's loss is that mean. Evaluation: summed token cross-entropy over
// the split / its labelled tokens, perplexity its exp (evaluate-causal-lm.ts).
import { collateCausalLm, type CausalLmBatch } from '../data/sft/collate.ts'
import type { SftSequence } from '../data/sft/packing.ts'
import type { CausalLm } from '../models/causal-lm.ts'
import { causalLmLoss } from '../models/causal-lm-loss.ts'
import { valueAndGrads } from '../nn/grads.ts'
import { evaluateCausalLm } from './evaluate-causal-lm.ts'
import type { TrainTask } from './task.ts'

/** `checkpointing`: each decoder layer recomputed in the backward (trainer.gradient_checkpointing). */
export function causalLmTask(model: CausalLm, train: readonly SftSequence[], evalSet: readonly SftSequence[] | undefined, padId: number, checkpointing = false): TrainTask {
  // The step's batches, collated once in beginStep (their token count is the step's divisor).
  let pending = new Map<Int32Array, CausalLmBatch>()
  let numItems = 0
  return {
    model,
    size: train.length,
    lengths: () => Int32Array.from(train, (s) => s.inputIds.length),
    beginStep(micro) {
      pending = new Map(micro.map((idx) => [idx, collateCausalLm(train, padId, { indices: idx })]))
      numItems = 0
      for (const b of pending.values()) numItems += b.labelledTokens
    },
    microBatch(idx, rng, params) {
      const batch = pending.get(idx) ?? collateCausalLm(train, padId, { indices: idx })
      pending.delete(idx)
      // A step without any labelled token (cannot happen: rows without one are dropped) divides by 1.
      const { value, grads } = valueAndGrads(() => causalLmLoss(model, batch, { training: true, rng, checkpointing, numItemsInBatch: Math.max(1, numItems) }), [...params])
      const loss = value.dataSync()[0]!
      value.dispose()
      let tokens = 0
      for (const l of batch.lengths) tokens += l
      return { loss, grads, samples: idx.length, tokens }
    },
    gradScale: () => 1,
    stepLoss: (lossSum) => lossSum,
    hasEval: evalSet !== undefined,
    evaluate(batchSize) {
      const r = evaluateCausalLm(model, evalSet!, { batchSize, padId })
      return { loss: r.loss, perplexity: r.perplexity, runtime_s: r.runtime_s, samples_per_s: r.samples_per_s, tokens_per_s: r.tokens_per_s }
    },
  }
}
