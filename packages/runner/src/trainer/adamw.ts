// AdamW exactly as torch.optim.AdamW (single-tensor path, amsgrad off): decoupled weight decay
// p <- p - lr*wd*p first, then the Adam update with bias corrections:
//   m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Parameters are grouped as transformers' Trainer does: biases and LayerNorm weights get no decay.
import * as tf from '@tensorflow/tfjs-core'
import type { Param } from '../nn/params.ts'

export interface AdamWOptions {
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  readonly weightDecay: number
  /** Parameter names that get no weight decay (see `noDecayNames`). */
  readonly noDecay?: ReadonlySet<string>
}

/** The optimizer state as plain arrays (for checkpoints): step count and m, v per parameter. */
export interface AdamWState {
  readonly step: number
  readonly m: ReadonlyMap<string, Float32Array>
  readonly v: ReadonlyMap<string, Float32Array>
}

/**
 * transformers' rule (Trainer.get_decay_parameter_names): every parameter decays except those of
 * LayerNorm modules and those with `bias` in their name. `layerNormWeights` names the LayerNorm
 * weights (the model spec knows them: they are the parameters initialised to ones).
 */
export function noDecayNames(params: readonly Param[], layerNormWeights: ReadonlySet<string>): Set<string> {
  return new Set(params.filter((p) => p.name.includes('bias') || layerNormWeights.has(p.name)).map((p) => p.name))
}

export class AdamW {
  private t = 0
  private readonly m = new Map<string, tf.Variable>()
  private readonly v = new Map<string, tf.Variable>()

  constructor(
    readonly params: readonly Param[],
    readonly options: AdamWOptions,
  ) {
    // State is allocated up front so the tensor count stays flat from the first step on.
    for (const p of params) {
      this.m.set(p.name, tf.variable(tf.zeros(p.shape), false))
      this.v.set(p.name, tf.variable(tf.zeros(p.shape), false))
    }
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.t
  }

  decays(name: string): boolean {
    return !(this.options.noDecay?.has(name) ?? false)
  }

  /** One update with learning rate `lr` from `grads` (by parameter name; the caller disposes them). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    this.t += 1
    const { beta1, beta2, eps, weightDecay } = this.options
    const bc1 = 1 - beta1 ** this.t
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.t)
    const stepSize = lr / bc1
    for (const p of this.params) {
      const g = grads.get(p.name)
      if (!g) continue
      const variable = p.variable
      if (!variable) throw new Error(`AdamW: parameter ${p.name} is not trainable`)
      const m = this.m.get(p.name)!
      const v = this.v.get(p.name)!
      tf.tidy(() => {
        const wd = this.decays(p.name) ? weightDecay : 0
        const decayed = wd !== 0 ? tf.mul(variable, 1 - lr * wd) : variable
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1))
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2))
        const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), eps)
        m.assign(m1)
        v.assign(v1)
        variable.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)))
      })
    }
  }

  state(): AdamWState {
    const read = (x: tf.Variable) => (x.dataSync() as Float32Array).slice()
    return {
      step: this.t,
      m: new Map([...this.m].map(([k, x]) => [k, read(x)])),
      v: new Map([...this.v].map(([k, x]) => [k, read(x)])),
    }
  }

  /** Restores a state saved by `state()` (every parameter must be present with its size). */
  load(state: AdamWState): void {
    for (const p of this.params) {
      const m = state.m.get(p.name)
      const v = state.v.get(p.name)
      if (!m || !v || m.length !== p.size || v.length !== p.size) {
        throw new Error(`AdamW: the saved optimizer state has no (or a wrongly sized) entry for ${p.name}`)
      }
      tf.tidy(() => {
        this.m.get(p.name)!.assign(tf.tensor(m, p.shape, 'float32'))
        this.v.get(p.name)!.assign(tf.tensor(v, p.shape, 'float32'))
      })
    }
    this.t = state.step
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose()
    this.m.clear()
    this.v.clear()
  }
}
