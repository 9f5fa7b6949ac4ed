// A sequence-classification model (DistilBERT or BERT) as a set of named parameters plus the
// architecture's forward function.
//
// Training: make the wanted parameters trainable (LoRA injection does this), then
//   const { value, grads } = valueAndGrads(
//     () => crossEntropy(model.forward(ids, mask, null, { training: true }), labels),
//     model.trainableParameters())
// `grads` maps parameter names to gradients; only trainable parameters (tf.Variables) get any.
import * as tf from '@tensorflow/tfjs-core'
import type { ModelConfig, ModelFamily, ModelInternals } from './family.ts'
import type { ModelSpec } from './spec.ts'
import { familyOf } from './families.ts'
import { ModelError } from './error.ts'
import { Param, ParamStore } from '../nn/params.ts'
import { LinearModule } from '../nn/linear-module.ts'
import { Rng } from '../nn/rng.ts'

export interface ForwardOptions {
  /** Dropout on (default false = eval mode). */
  readonly training?: boolean
  /** Dropout stream for this call; defaults to the model's own seeded stream. */
  readonly rng?: Rng
}

export interface ParameterCount {
  readonly trainable: number
  readonly total: number
}

export class SequenceClassifier {
  readonly family: ModelFamily
  readonly spec: ModelSpec
  readonly linears: ReadonlyMap<string, LinearModule>
  /** Dropout masks come from here unless a forward call passes its own Rng. */
  dropoutRng: Rng
  private readonly internals: ModelInternals

  /** Prefer loadPretrained / createRandomModel; `params` must hold every parameter of the spec. */
  constructor(
    readonly config: ModelConfig,
    readonly params: ParamStore,
    seed = 0,
  ) {
    this.family = familyOf(config)
    this.spec = this.family.spec(config)
    for (const s of this.spec.params) {
      if (!params.has(s.name)) throw new ModelError({ source: this.name, reason: `parameter ${s.name} is missing` })
      const p = params.get(s.name)
      if (!tf.util.arraysEqual(p.shape, [...s.shape])) {
        throw new ModelError({ source: this.name, reason: `parameter ${s.name} has shape [${p.shape}], expected [${s.shape}]` })
      }
    }
    const linears = new Map<string, LinearModule>()
    for (const l of this.spec.linears) {
      linears.set(l.path, new LinearModule(l.path, params.get(`${l.path}.weight`), l.bias ? params.get(`${l.path}.bias`) : null))
    }
    this.linears = linears
    this.dropoutRng = new Rng(seed ^ 0x5eed)
    this.internals = {
      config,
      p: (name) => params.get(name).value,
      lin: (path) => this.linearModule(path),
    }
  }

  /** e.g. DistilBertForSequenceClassification */
  get name(): string {
    return this.family.architecture
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
    const training = options.training ?? false
    const ctx = { training, rng: training ? (options.rng ?? this.dropoutRng) : null }
    return this.family.forward(this.internals, { inputIds, attentionMask, tokenTypeIds: tokenTypeIds ?? null }, ctx)
  }

  parameter(name: string): Param {
    return this.params.get(name)
  }

  /** Every parameter (base weights and any LoRA weights), in registration order. */
  namedParameters(): Param[] {
    return this.params.all()
  }

  trainableParameters(): Param[] {
    return this.params.trainable()
  }

  /** Marks exactly the parameters for which `pred` holds as trainable; all others frozen. */
  setTrainable(pred: (p: Param) => boolean): void {
    for (const p of this.params.all()) p.setTrainable(pred(p))
  }

  linearModule(path: string): LinearModule {
    const l = this.linears.get(path)
    if (!l) throw new ModelError({ source: this.name, reason: `no linear module "${path}"; linear modules: ${[...this.linears.keys()].join(', ')}` })
    return l
  }

  linearModulePaths(): string[] {
    return [...this.linears.keys()]
  }

  /** The base model's parameters (transformers state dict; no LoRA weights). */
  baseParameters(): Param[] {
    return this.spec.params.map((s) => this.params.get(s.name))
  }

  countParameters(): ParameterCount {
    let trainable = 0
    let total = 0
    for (const p of this.params.all()) {
      total += p.size
      if (p.trainable) trainable += p.size
    }
    return { trainable, total }
  }

  dispose(): void {
    this.params.dispose()
  }
}
