// AdamW exactly as torch.optim.AdamW (single-tensor path, amsgrad off): decoupled weight decay
// p <- p - lr*wd*p first, then the Adam update with bias corrections:
//   m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Parameters are grouped as transformers' Trainer does: biases and LayerNorm weights get no decay.
import * as tf from '@tensorflow/tfjs-core'
import type { Param } from '../nn/params.ts'
import { fusedAdamW } from '../backend/adamw-kernel.ts'

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
    // A variable shares its initial tensor's data until the first assign; the zeros must be
    // disposed here, or their memory outlives that assign (510 MB for DistilBERT's full fine-tune).
    const zeroVariable = (shape: number[]) => {
      const z = tf.zeros(shape)
      const v = tf.variable(z, false)
      z.dispose()
      return v
    }
    for (const p of params) {
      this.m.set(p.name, zeroVariable(p.shape))
      this.v.set(p.name, zeroVariable(p.shape))
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
      const wd = this.decays(p.name) ? weightDecay : 0
      // On wasm, one kernel (backend/adamw-kernel.ts); elsewhere the same update from tf ops.
      const fused = fusedAdamW(variable, g, m, v, { beta1, beta2, eps, stepSize, bc2Sqrt, decay: 1 - lr * wd })
      if (fused) {
        variable.assign(fused)
        fused.dispose()
        continue
      }
      // The same operations as one tidy would run, but each temporary is freed once used: a tidy
      // held about a dozen tensors of the parameter's size at once; this holds four.
      tf.tidy(() => {
        const use = <T extends tf.Tensor>(t: T, ...done: tf.Tensor[]): T => {
          for (const d of done) d.dispose()
          return t
        }
        const mb = tf.mul(m, beta1)
        const gb = tf.mul(g, 1 - beta1)
        const m1 = use(tf.add(mb, gb), mb, gb)
        const g2 = tf.square(g)
        const g2b = use(tf.mul(g2, 1 - beta2), g2)
        const vb = tf.mul(v, beta2)
        const v1 = use(tf.add(vb, g2b), vb, g2b)
        const root = tf.sqrt(v1)
        const scaled = use(tf.div(root, bc2Sqrt), root)
        const denom = use(tf.add(scaled, eps), scaled)
        m.assign(m1)
        v.assign(v1)
        const ratio = use(tf.div(m1, denom), denom, m1)
        const update = use(tf.mul(ratio, stepSize), ratio)
        const decayed = wd !== 0 ? tf.mul(variable, 1 - lr * wd) : variable
        const w1 = tf.sub(decayed, update)
        update.dispose()
        if (decayed !== variable) decayed.dispose()
        variable.assign(w1)
        v1.dispose()
        w1.dispose()
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
