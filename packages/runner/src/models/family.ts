// A model family (one transformers model_type with one head) behind one interface: how its
// config.json reads, its parameter layout, its forward pass, and what PEFT and the size checks need
// to know of it. families.ts lists them. A family says its task (the pipeline's model.task):
// - 'sequence-classification' (XForSequenceClassification): forward gives the head's logits [B, C].
// - 'causal-lm' (XForCausalLM): hiddenStates gives the final hidden states of the tokens, and the
//   caller applies the output layer (spec.outputModule, `lm_head`) only where logits are needed:
//   the loss takes the labelled positions only (a chat SFT batch labels ~10% of its tokens) and
//   streams them through the head in chunks, so [B, L, vocab] logits (805 MB at 8 x 512 tokens and
//   a 49k vocabulary, several times that with the softmax kept for backward) never exist unless
//   asked for (CausalLm.logits).
import type * as tf from '@tensorflow/tfjs-core'
import type { ModelSpec } from './spec.ts'
import type { LinearModule } from '../nn/linear-module.ts'
import type { ForwardContext } from '../nn/context.ts'
import type { TokenLayout } from '../nn/token-layout.ts'
import type { ConfigFields, Labels } from './config-fields.ts'

/** The pipeline's model.task: what head a family puts on its base model. */
export type ModelTask = 'sequence-classification' | 'causal-lm'

/** What every family's config has. `raw` is config.json as read: a saved config keeps its unknown fields. */
export interface ModelConfig extends Labels {
  readonly modelType: string
  readonly vocabSize: number
  readonly maxPositionEmbeddings: number
  readonly initializerRange: number
  readonly raw: Readonly<Record<string, unknown>>
}

/** [B, L] each: token ids, 1 for tokens and 0 for padding, segment ids (families with tokenTypes; zeros when absent). */
export interface ModelInputs {
  readonly inputIds: tf.Tensor
  readonly attentionMask: tf.Tensor
  readonly tokenTypeIds?: tf.Tensor | null
}

/**
 * A decoder's batch, row-major [batchSize, seqLen] (data/sft's CausalLmBatch is one). Positions
 * default to 0..L-1 in every row (transformers' forward). Segment ids (1, 2, ... per packed example,
 * 0 on padding) make attention block-diagonal: a token sees the earlier tokens of its own segment
 * only, so a packed row computes what its examples compute one by one.
 */
export interface DecoderInputs {
  readonly batchSize: number
  readonly seqLen: number
  readonly inputIds: Int32Array
  readonly attentionMask: Int32Array
  readonly positionIds?: Int32Array | null
  readonly segmentIds?: Int32Array | null
}

/** What a family's forward pass sees of a model: its config, parameters by state-dict name, linear modules by path. */
export interface ModelInternals<C extends ModelConfig = ModelConfig> {
  readonly config: C
  p(name: string): tf.Tensor
  lin(path: string): LinearModule
  /** The trainable variables whose names start with `prefix` (a layer's, for activation checkpointing). */
  trainable(prefix: string): tf.Variable[]
}

interface FamilyCommon<C extends ModelConfig> {
  readonly modelType: string
  /** The transformers class it loads as: config.json's `architectures`, the model's name in messages. */
  readonly architecture: string
  /** PEFT's default target_modules (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
  readonly loraTargets: readonly string[]
  /** Whether its inputs carry token_type_ids. */
  readonly tokenTypes: boolean
  /** The config.json keys that set its size, named when a config cannot fit in memory. */
  readonly sizeKeys: string
  /** Its config, transformers' defaults filled in; a value it cannot run fails. */
  parseConfig(fields: ConfigFields): C
  /** The spec's parameter count in closed form, without building the spec. */
  parameterCount(c: C): number
  /** Parameters and linear modules, named and shaped as the transformers state dict. */
  spec(c: C): ModelSpec
}

export interface ClassifierFamily<C extends ModelConfig = ModelConfig> extends FamilyCommon<C> {
  readonly task: 'sequence-classification'
  /** Logits of the head, [batch, num_labels]. */
  forward(m: ModelInternals<C>, inputs: ModelInputs, ctx: ForwardContext): tf.Tensor2D
}

export interface CausalLmFamily<C extends ModelConfig = ModelConfig> extends FamilyCommon<C> {
  readonly task: 'causal-lm'
  /**
   * The final hidden states (after the last norm, before lm_head) of the positions `layout`
   * computes, [layout.count, hidden]. Positions the layout leaves out (padding) influence nothing.
   * A position id at or above max_position_embeddings is refused by the caller.
   */
  hiddenStates(m: ModelInternals<C>, inputs: DecoderInputs, layout: TokenLayout, ctx: ForwardContext): tf.Tensor2D
}

export type ModelFamily<C extends ModelConfig = ModelConfig> = ClassifierFamily<C> | CausalLmFamily<C>
