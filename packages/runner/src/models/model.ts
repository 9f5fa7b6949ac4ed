// A model as a set of named parameters (transformers' state-dict names) and linear modules, of one
// family (families.ts). What every task shares: parameters, trainability, linear modules for LoRA,
// counts. The task's own forward pass lives in its subclass: SequenceClassifier (classifier.ts),
// CausalLm (causal-lm.ts).
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
  /**
   * Training only: recompute each decoder layer in the backward pass rather than keep its
   * activations (transformers' gradient_checkpointing): far less memory for a second forward.
   */
  readonly checkpointing?: boolean
}

export interface ParameterCount {
  readonly trainable: number
  readonly total: number
}

export abstract class PretrainedModel<F extends ModelFamily = ModelFamily> {
  readonly family: F
  readonly spec: ModelSpec
  readonly linears: ReadonlyMap<string, LinearModule>
  /** Dropout masks come from here unless a forward call passes its own Rng. */
  dropoutRng: Rng
  protected readonly internals: ModelInternals

  /** `params` must hold every parameter of the spec. */
  constructor(
    readonly config: ModelConfig,
    readonly params: ParamStore,
    seed = 0,
  ) {
    this.family = familyOf(config) as F
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
      linears.set(l.path, new LinearModule(l.path, params.get(l.tiedWeight ?? `${l.path}.weight`), l.bias ? params.get(`${l.path}.bias`) : null))
    }
    this.linears = linears
    this.dropoutRng = new Rng(seed ^ 0x5eed)
    this.internals = {
      config,
      p: (name) => params.get(this.spec.tied?.get(name) ?? name).value,
      lin: (path) => this.linearModule(path),
      trainable: (prefix) => params.trainable().filter((p) => p.name.startsWith(prefix)).map((p) => p.variable!),
    }
  }

  /** e.g. DistilBertForSequenceClassification, LlamaForCausalLM */
  get name(): string {
    return this.family.architecture
  }

  /** The forward context of a call: eval mode unless `training`, with its dropout stream. */
  protected context(options: ForwardOptions) {
    const training = options.training ?? false
    return { training, rng: training ? (options.rng ?? this.dropoutRng) : null, checkpointing: training && (options.checkpointing ?? false) }
  }

  /** A parameter by state-dict name (a tied name gives the parameter it shares). */
  parameter(name: string): Param {
    return this.params.get(this.spec.tied?.get(name) ?? name)
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

  /** The base model's parameters (transformers state dict, tied weights once; no LoRA weights). */
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
