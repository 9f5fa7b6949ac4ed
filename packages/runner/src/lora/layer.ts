// The LoRA term PEFT adds to a linear layer: y + scaling * B(A(dropout(x))), with A [r, in] and
// B [out, r] in PyTorch layout. While merged, the base weight already holds W + scaling * B A and
// the term is skipped.
import * as tf from '@tensorflow/tfjs-core'
import { linear } from '../ops/linear.ts'
import type { LinearAdapter } from '../nn/linear-module.ts'
import type { ForwardContext } from '../nn/context.ts'
import { dropout } from '../nn/dropout.ts'
import type { Param } from '../nn/params.ts'

export class LoraLayer implements LinearAdapter {
  merged = false

  constructor(
    /** Path of the linear module this layer adapts. */
    readonly path: string,
    readonly A: Param,
    readonly B: Param,
    readonly r: number,
    readonly alpha: number,
    readonly scaling: number,
    readonly dropoutRate: number,
  ) {}

  apply(x: tf.Tensor, y: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    if (this.merged) return y
    return tf.tidy(() => {
      const h = linear(dropout(x, this.dropoutRate, ctx), this.A.value as tf.Tensor2D)
      return tf.add(y, tf.mul(linear(h, this.B.value as tf.Tensor2D), this.scaling))
    })
  }

  /** scaling * B @ A, the [out, in] update merging adds to the base weight. */
  delta(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.B.value as tf.Tensor2D, this.A.value as tf.Tensor2D), this.scaling))
  }
}
