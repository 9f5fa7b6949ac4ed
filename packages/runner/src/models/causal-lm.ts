// A causal language model (XForCausalLM): the family's decoder gives final hidden states, and the
// output layer (lm_head) is applied only where logits are needed. `tokenLosses` is what training
// and evaluation use (causal-lm-loss.ts sums and normalises it): the positions whose shifted label
// is not -100, their hidden rows, and the head + cross-entropy streamed over them in chunks.
// `logits` gives every position's logits for scoring and checks.
import * as tf from '@tensorflow/tfjs-core'
import type { CausalLmFamily, DecoderInputs, ModelConfig } from './family.ts'
import { ModelError } from './error.ts'
import { PretrainedModel, type ForwardOptions } from './model.ts'
import type { ParamStore } from '../nn/params.ts'
import { TokenLayout } from '../nn/token-layout.ts'
import { linearCrossEntropy, tokenCrossEntropy } from '../nn/token-cross-entropy.ts'

/** Label of a position that takes no loss (transformers' ignore_index). */
export const IGNORE_INDEX = -100

/** A decoder batch with its labels: targets not shifted (the loss shifts them left by one), -100 where no loss is taken. */
export interface LabelledDecoderInputs extends DecoderInputs {
  readonly labels: Int32Array
}

/** The tokens a loss reads: position (b, t) predicts labels[b, t + 1]. */
export interface ShiftedTargets {
  /** Flat index b * L + t of each predicting position. */
  readonly sources: Int32Array
  /** The label it predicts. */
  readonly targets: Int32Array
  /** Its batch row b. */
  readonly rows: Int32Array
}

/** transformers' shift: labels padded with -100 on the right and moved left by one, -100 dropped. */
export function shiftedTargets(labels: ArrayLike<number>, batchSize: number, seqLen: number): ShiftedTargets {
  let n = 0
  for (let b = 0; b < batchSize; b++) for (let t = 1; t < seqLen; t++) if (labels[b * seqLen + t] !== IGNORE_INDEX) n++
  const sources = new Int32Array(n)
  const targets = new Int32Array(n)
  const rows = new Int32Array(n)
  let k = 0
  for (let b = 0; b < batchSize; b++) {
    for (let t = 1; t < seqLen; t++) {
      const y = labels[b * seqLen + t]!
      if (y === IGNORE_INDEX) continue
      sources[k] = b * seqLen + t - 1
      targets[k] = y
      rows[k] = b
      k++
    }
  }
  return { sources, targets, rows }
}

/** Per-token losses of a batch: a tensor [T] (float32, differentiable) and, per token, its batch row. */
export interface TokenLosses {
  readonly losses: tf.Tensor1D
  readonly rows: Int32Array
}

export class CausalLm extends PretrainedModel<CausalLmFamily> {
  /** Prefer loadCausalLm / createRandomCausalLm; `params` must hold every parameter of the spec. */
  constructor(config: ModelConfig, params: ParamStore, seed = 0) {
    super(config, params, seed)
    const task = this.family.task as string
    if (task !== 'causal-lm') {
      throw new ModelError({ source: this.name, reason: `is a ${task} model, not a causal language model (model.task: ${task}); load it with loadPretrained` })
    }
  }

  get vocabSize(): number {
    return this.config.vocabSize
  }

  /** Checks shapes, token ids, positions and labels, naming the first bad value. */
  private check(inputs: DecoderInputs, labels?: Int32Array | null): void {
    const { batchSize: b, seqLen: l } = inputs
    const src = this.name
    const n = b * l
    if (!(Number.isInteger(b) && b > 0 && Number.isInteger(l) && l > 0)) throw new ModelError({ source: src, reason: `batch [${b}, ${l}] must have at least one row and one position` })
    const arrays: Array<[string, ArrayLike<number> | null | undefined]> = [
      ['inputIds', inputs.inputIds], ['attentionMask', inputs.attentionMask], ['positionIds', inputs.positionIds], ['segmentIds', inputs.segmentIds], ['labels', labels],
    ]
    for (const [name, a] of arrays) {
      if (a && a.length !== n) throw new ModelError({ source: src, reason: `${name} has ${a.length} values, expected batchSize x seqLen = ${n}` })
    }
    const at = (i: number) => `row ${Math.floor(i / l)}, position ${i % l}`
    const v = this.config.vocabSize
    for (let i = 0; i < n; i++) {
      const id = inputs.inputIds[i]!
      if (!(id >= 0 && id < v)) {
        throw new ModelError({ source: src, reason: `token id ${id} at ${at(i)} is outside the model's vocabulary (${v.toLocaleString('en-US')} tokens): the tokenizer and the model do not match` })
      }
    }
    const maxPos = this.config.maxPositionEmbeddings
    for (let i = 0; i < n; i++) {
      const p = inputs.positionIds ? inputs.positionIds[i]! : i % l
      if (!(p >= 0 && p < maxPos) && inputs.attentionMask[i] !== 0) {
        throw new ModelError({ source: src, reason: `position ${p} at ${at(i)} is beyond max_position_embeddings (${maxPos}); truncate the inputs (max_length)` })
      }
    }
    if (labels) {
      for (let i = 0; i < n; i++) {
        const y = labels[i]!
        if (y !== IGNORE_INDEX && !(y >= 0 && y < v)) throw new ModelError({ source: src, reason: `label ${y} at ${at(i)} is neither -100 nor a token id of the vocabulary (${v.toLocaleString('en-US')} tokens)` })
      }
    }
  }

  /** The layout of the positions to compute: the tokens, or every position when `needed` includes padding. */
  private layout(inputs: DecoderInputs, needed?: Int32Array): TokenLayout {
    const { batchSize: b, seqLen: l, attentionMask } = inputs
    // Positions outside the mask (padding) are computed only when a loss reads one (left padding
    // under a label: transformers reads that position's hidden state too).
    const padUsed = needed?.some((f) => attentionMask[f] === 0) ?? false
    return TokenLayout.fromArray(padUsed ? new Int32Array(b * l).fill(1) : attentionMask, b, l)
  }

  /**
   * Logits [B, L, vocab] at every position (padding positions: the head of a zero vector, 0, unless
   * computed). Eval mode unless `training: true`. Holds the whole [B, L, vocab] tensor: for the loss
   * use tokenLosses.
   */
  logits(inputs: DecoderInputs, options: ForwardOptions = {}): tf.Tensor3D {
    this.check(inputs)
    const layout = this.layout(inputs)
    try {
      return tf.tidy(() => {
        const ctx = this.context(options)
        // Laid out padded before the head: [B, L, hidden] is cheap to scatter, [B, L, vocab] is not.
        const hidden = layout.toPadded(this.family.hiddenStates(this.internals, inputs, layout, ctx))
        return this.linearModule(this.spec.outputModule).forward(hidden, ctx) as tf.Tensor3D
      })
    } finally {
      layout.dispose()
    }
  }

  /**
   * Cross-entropy of each labelled token (labels shifted left by one, -100 skipped), float32 [T],
   * differentiable, in batch order; `rows` says which batch row each token is in. Only the T
   * predicting positions go through lm_head, in chunks (no [B, L, vocab] logits).
   */
  tokenLosses(batch: LabelledDecoderInputs, options: ForwardOptions = {}): TokenLosses {
    this.check(batch, batch.labels)
    const { sources, targets, rows } = shiftedTargets(batch.labels, batch.batchSize, batch.seqLen)
    if (sources.length === 0) return { losses: tf.zeros([0]) as tf.Tensor1D, rows }
    const layout = this.layout(batch, sources)
    const ctx = this.context(options)
    try {
      const losses = tf.tidy(() => {
        const hidden = this.family.hiddenStates(this.internals, batch, layout, ctx)
        let index = sources
        if (layout.rowIndex) {
          const rowOf = new Int32Array(batch.batchSize * batch.seqLen)
          layout.rowIndex.forEach((f, r) => (rowOf[f] = r))
          index = sources.map((f) => rowOf[f]!)
        }
        const h = tf.gather(hidden, tf.tensor1d(index, 'int32')) as tf.Tensor2D
        const head = this.linearModule(this.spec.outputModule)
        const t = tf.tensor1d(targets, 'int32')
        // The plain head (no bias, no adapter) streams through the fused op; otherwise the module's own forward.
        if (head.adapter === null && head.bias === null) return linearCrossEntropy(h, head.weight.value as tf.Tensor2D, t)
        return tokenCrossEntropy(head.forward(h, ctx) as tf.Tensor2D, t)
      })
      return { losses, rows }
    } finally {
      layout.dispose()
    }
  }
}
