// A linear layer (torch.nn.Linear: weight [out, in], optional bias) addressed by its module path
// (e.g. `distilbert.transformer.layer.0.attention.q_lin`). An adapter (LoRA) can attach to it and
// add its own term to the output.
import type * as tf from '@tensorflow/tfjs-core'
import { linear } from '../ops/linear.ts'
import type { ForwardContext } from './context.ts'
import type { Param } from './params.ts'

export interface LinearAdapter {
  /** Given the layer input x and the base output y = x W^T + b, returns the adapted output. */
  apply(x: tf.Tensor, y: tf.Tensor, ctx: ForwardContext): tf.Tensor
}

export class LinearModule {
  adapter: LinearAdapter | null = null

  constructor(
    readonly path: string,
    readonly weight: Param,
    readonly bias: Param | null,
  ) {}

  get inFeatures(): number {
    return this.weight.shape[1]!
  }

  get outFeatures(): number {
    return this.weight.shape[0]!
  }

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const y = linear(x, this.weight.value as tf.Tensor2D, (this.bias?.value as tf.Tensor1D | undefined) ?? null)
    return this.adapter ? this.adapter.apply(x, y, ctx) : y
  }
}
