// Evaluation of a causal LM on a split of SFT sequences: the loss is the mean over all labelled
// tokens of the split (summed token cross-entropy / their count, as ../shared/peer/llama_eval.py and
// transformers' eval with num_items_in_batch), so it does not depend on the batch size or the order;
// perplexity = exp(loss). Eval mode, batches of similar lengths (little padding), right padding.
import type { CausalLm } from '../models/causal-lm.ts'
import { causalLmLossSums } from '../models/causal-lm-loss.ts'
import { collateCausalLm } from '../data/sft/collate.ts'
import type { SftSequence } from '../data/sft/packing.ts'

export interface CausalLmEvalResult {
  /** Mean token cross-entropy over the split's labelled tokens (NaN when it has none). */
  readonly loss: number
  readonly perplexity: number
  /** Labelled tokens the loss is over. */
  readonly tokens: number
  /** Summed token cross-entropy (float64 over float32 terms). */
  readonly lossSum: number
  readonly runtime_s: number
  readonly samples_per_s: number
  /** Tokens (real, not padding) read per second. */
  readonly tokens_per_s: number
}

export interface CausalLmEvalOptions {
  readonly batchSize: number
  /** Token id of padding (the tokenizer's pad). */
  readonly padId: number
}

/** Loss and perplexity of `model` over `sequences`, independent of batching. */
export function evaluateCausalLm(model: CausalLm, sequences: readonly SftSequence[], options: CausalLmEvalOptions): CausalLmEvalResult {
  const n = sequences.length
  const t0 = performance.now()
  // by length (ties in split order): batches of similar lengths
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => sequences[a]!.inputIds.length - sequences[b]!.inputIds.length || a - b)
  let lossSum = 0
  let tokens = 0
  let read = 0
  for (let s = 0; s < n; s += options.batchSize) {
    const batch = collateCausalLm(sequences, options.padId, { indices: order.subarray(s, Math.min(n, s + options.batchSize)) })
    const sums = causalLmLossSums(model, batch)
    lossSum += sums.lossSum
    tokens += sums.tokens
    for (const l of batch.lengths) read += l
  }
  const runtime = (performance.now() - t0) / 1000
  const loss = tokens > 0 ? lossSum / tokens : Number.NaN
  return {
    loss,
    perplexity: Math.exp(loss),
    tokens,
    lossSum,
    runtime_s: runtime,
    samples_per_s: n / Math.max(runtime, 1e-9),
    tokens_per_s: read / Math.max(runtime, 1e-9),
  }
}
