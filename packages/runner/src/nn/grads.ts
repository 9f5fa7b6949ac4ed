// Loss and gradients with respect to named trainable parameters. Only the parameters passed in get
// gradients; frozen weights are plain tensors and cost no gradient work.
import * as tf from '@tensorflow/tfjs-core'
import './register-gradients.ts'
import { ParamError, type Param } from './params.ts'

export interface ValueAndGrads {
  /** The scalar loss (caller disposes). */
  readonly value: tf.Scalar
  /** Parameter name -> gradient, same shape as the parameter (caller disposes). */
  readonly grads: Map<string, tf.Tensor>
}

/**
 * Runs `loss` (a function building the scalar loss from the model's forward pass) and returns its
 * value and the gradient for every parameter in `params` (all must be trainable), e.g.
 * `valueAndGrads(() => crossEntropy(model.forward(ids, mask, undefined, { training: true }), labels), model.trainableParams())`.
 */
export function valueAndGrads(loss: () => tf.Scalar, params: readonly Param[]): ValueAndGrads {
  const vars = params.map((p) => {
    const v = p.variable
    if (!v) throw new ParamError({ param: p.name, reason: 'is frozen; make it trainable before asking for its gradient' })
    return v
  })
  const { value, grads } = tf.variableGrads(loss, vars)
  const out = new Map<string, tf.Tensor>()
  params.forEach((p, i) => {
    const g = grads[vars[i]!.name]
    // A parameter the loss does not depend on gets a zero gradient, as torch leaves .grad None.
    out.set(p.name, g ?? tf.zerosLike(p.value))
  })
  return { value, grads: out }
}
