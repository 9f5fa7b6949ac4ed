// A sequence-classification model (DistilBERT or BERT) as a set of named parameters plus the
// architecture's forward function.
//
// Training: make the wanted parameters trainable (LoRA injection does this), then
//   const { value, grads } = valueAndGrads(
//     () => crossEntropy(model.forward(ids, mask, null, { training: true }), labels),
//     model.trainableParameters())
// `grads` maps parameter names to gradients; only trainable parameters (tf.Variables) get any.
import * as tf from '@tensorflow/tfjs-core'
import type { ClassifierFamily, ModelConfig } from './family.ts'
import { ModelError } from './error.ts'
import { PretrainedModel, type ForwardOptions } from './model.ts'
import type { ParamStore } from '../nn/params.ts'

export type { ForwardOptions, ParameterCount } from './model.ts'

export class SequenceClassifier extends PretrainedModel<ClassifierFamily> {
  /** Prefer loadPretrained / createRandomModel; `params` must hold every parameter of the spec. */
  constructor(config: ModelConfig, params: ParamStore, seed = 0) {
    super(config, params, seed)
    const task = this.family.task as string
    if (task !== 'sequence-classification') {
      throw new ModelError({ source: this.name, reason: `is a ${task} model, not a sequence classifier (model.task: ${task}); load it with loadCausalLm` })
    }
  }

  get numLabels(): number {
    return this.config.numLabels
  }

  /**
   * Logits [B, num_labels]. `inputIds`, `attentionMask` (and `tokenTypeIds`, BERT's segments) are [B, L]
   * int tensors. Eval mode unless `training: true`.
   */
  forward(
    inputIds: tf.Tensor,
    attentionMask: tf.Tensor,
    tokenTypeIds?: tf.Tensor | null,
    options: ForwardOptions = {},
  ): tf.Tensor2D {
    const src = this.name
    if (inputIds.rank !== 2) throw new ModelError({ source: src, reason: `inputIds must be [batch, length], got shape [${inputIds.shape}]` })
    if (!tf.util.arraysEqual(attentionMask.shape, inputIds.shape)) {
      throw new ModelError({ source: src, reason: `attentionMask shape [${attentionMask.shape}] differs from inputIds [${inputIds.shape}]` })
    }
    if (tokenTypeIds) {
      if (!this.family.tokenTypes) throw new ModelError({ source: src, reason: `${this.config.modelType} takes no token type ids` })
      if (!tf.util.arraysEqual(tokenTypeIds.shape, inputIds.shape)) {
        throw new ModelError({ source: src, reason: `tokenTypeIds shape [${tokenTypeIds.shape}] differs from inputIds [${inputIds.shape}]` })
      }
    }
    const len = inputIds.shape[1]!
    const maxLen = this.config.maxPositionEmbeddings
    if (len > maxLen) {
      throw new ModelError({ source: src, reason: `sequence length ${len} exceeds max_position_embeddings ${maxLen}; truncate the inputs` })
    }
    return this.family.forward(this.internals, { inputIds, attentionMask, tokenTypeIds: tokenTypeIds ?? null }, this.context(options))
  }
}
