// A model family (one transformers model_type) behind one interface: how its config.json reads,
// its parameter layout, its forward pass, and what PEFT and the size checks need to know of it.
// families.ts lists them. Every family is loaded today with a sequence-classification head
// (XForSequenceClassification, the pipeline's model.task); a decoder family brings a causal-LM
// head, and with it the task as a field here and its logits' shape as forward's result.
import type * as tf from '@tensorflow/tfjs-core'
import type { ModelSpec } from './spec.ts'
import type { LinearModule } from '../nn/linear-module.ts'
import type { ForwardContext } from '../nn/context.ts'
import type { ConfigFields, Labels } from './config-fields.ts'

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

/** What a family's forward pass sees of a model: its config, parameters by state-dict name, linear modules by path. */
export interface ModelInternals<C extends ModelConfig = ModelConfig> {
  readonly config: C
  p(name: string): tf.Tensor
  lin(path: string): LinearModule
}

export interface ModelFamily<C extends ModelConfig = ModelConfig> {
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
  /** Logits of the head, [batch, num_labels]. */
  forward(m: ModelInternals<C>, inputs: ModelInputs, ctx: ForwardContext): tf.Tensor2D
}
