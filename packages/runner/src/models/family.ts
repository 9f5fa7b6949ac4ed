// A model family (one transformers model_type) behind one interface: how its config.json reads,
// its parameter layout, its forward pass, and what PEFT and the size checks need to know of it.
// families.ts lists them. Every family is loaded today with a sequence-classification head
// (XForSequenceClassification, the pipeline's model.task); a decoder family brings a causal-LM
// head, and with it the task as a field here and its logits' shape as forward's result.
import type * as tf from '@tensorflow/tfjs-core'
import type { ModelSpec } from './spec.ts'
import type { LinearModule } from '../nn/linear-module.ts'
import type { ForwardContext } from '../nn/context.ts'

/** The classes of the head, as transformers keeps them in every config.json. */
export interface Labels {
  readonly numLabels: number
  readonly id2label: Readonly<Record<string, string>>
  readonly label2id: Readonly<Record<string, number>>
}

/** What every family's parsed config has; each family's config extends it. */
export interface ModelConfig extends Labels {
  readonly modelType: string
  readonly vocabSize: number
  readonly maxPositionEmbeddings: number
  readonly initializerRange: number
  readonly padTokenId: number
  /** config.json as read: unknown fields are kept so that a saved config round-trips. */
  readonly raw: Readonly<Record<string, unknown>>
}

/** config.json's fields as a family reads them: each with transformers' default, checked; a bad one fails naming its key and the file. */
export interface ConfigFields {
  readonly raw: Readonly<Record<string, unknown>>
  fail(reason: string): never
  num(key: string, dflt: number | undefined, check?: (v: number) => boolean, what?: string): number
  int(key: string, dflt?: number): number
  prob(key: string, dflt: number): number
  str(key: string, dflt: string): string
  /** num_labels, id2label and label2id (from the overrides, else config.json, else transformers' 2). */
  labels(): Labels
}

export interface ModelInputs {
  /** [B, L] token ids */
  readonly inputIds: tf.Tensor
  /** [B, L] 1 for tokens, 0 for padding */
  readonly attentionMask: tf.Tensor
  /** [B, L] segment ids (families with tokenTypes only; zeros when absent) */
  readonly tokenTypeIds?: tf.Tensor | null
}

/** What a family's forward pass sees of a model. */
export interface ModelInternals<C extends ModelConfig = ModelConfig> {
  readonly config: C
  /** Tensor of the parameter with this state-dict name. */
  p(name: string): tf.Tensor
  /** Linear module at this path. */
  lin(path: string): LinearModule
}

export interface ModelFamily<C extends ModelConfig = ModelConfig> {
  /** config.json's model_type. */
  readonly modelType: string
  /** The transformers class it is loaded as: config.json's `architectures`, and the model's name in messages. */
  readonly architecture: string
  /** PEFT's default target_modules (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
  readonly loraTargets: readonly string[]
  /** Whether its inputs carry token_type_ids (segment ids). */
  readonly tokenTypes: boolean
  /** The config.json keys that set its size, named when a config cannot fit in memory. */
  readonly sizeKeys: string
  /** Its typed config, transformers' defaults filled in; a value it cannot run fails. */
  parseConfig(fields: ConfigFields): C
  /** Its parameter count in closed form: the spec's, without building the spec. */
  parameterCount(c: C): number
  /** Parameters and linear modules, named and shaped as the transformers state dict. */
  spec(c: C): ModelSpec
  /** Logits of the head, [batch, num_labels]. */
  forward(m: ModelInternals<C>, inputs: ModelInputs, ctx: ForwardContext): tf.Tensor2D
}
