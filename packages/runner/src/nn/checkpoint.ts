// Activation checkpointing (transformers' gradient_checkpointing): a block (a decoder layer) runs
// forward without keeping its intermediates for the backward pass; the backward pass recomputes
// the block from its saved input and takes the gradient through that recomputation. A layer then
// holds one [tokens, hidden] input between forward and backward instead of every activation
// (attention probabilities, the MLP's [tokens, intermediate] products, norms, LoRA's products), for
// the price of a second forward per layer. Dropout masks are drawn again from a copy of the random
// stream as it was, so the recomputation is the forward exactly, and the stream ends where it would
// without checkpointing: the same step with or without it gives the same gradients.
import * as tf from '@tensorflow/tfjs-core'
import type { ForwardContext } from './context.ts'

/** A block's forward: its input, the constant tensors it reads (rope tables, masks), the context. */
export type Block = (x: tf.Tensor, constants: readonly tf.Tensor[], ctx: ForwardContext) => tf.Tensor

interface EngineState {
  state: { activeTape: unknown[] | null; gradientDepth: number }
}

/**
 * `block(x, constants, ctx)`, checkpointed. `params` are the trainable variables the block reads
 * (their gradients come from the recomputation); frozen weights need none. The constants are kept
 * (shared, not copied) until the backward pass has used them.
 */
export function checkpointed(block: Block, x: tf.Tensor, constants: readonly tf.Tensor[], params: readonly tf.Variable[], ctx: ForwardContext): tf.Tensor {
  // The stream as the forward finds it; the recomputation draws its masks from a copy of this.
  const rngAtStart = ctx.rng?.clone() ?? null
  const run = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as (ts: tf.Tensor[]) => void
    const input = args[0] as tf.Tensor
    save([input, ...constants])
    const value = block(input, constants, ctx)
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [savedInput, ...savedConstants] = saved as [tf.Tensor, ...tf.Tensor[]]
      const replay: ForwardContext = { ...ctx, rng: rngAtStart?.clone() ?? null }
      // A gradient computed inside the outer backward pass: its tape is its own, and the outer
      // pass's tape (which engine.gradients would replace and then clear) is put back after.
      const engine = tf.engine() as unknown as EngineState
      const outerTape = engine.state.activeTape
      const outerDepth = engine.state.gradientDepth
      engine.state.activeTape = null
      engine.state.gradientDepth = 0
      try {
        // One scope: the recomputation's activations go as soon as this layer's gradient is known.
        return tf.tidy(() => {
          const xs = [savedInput, ...params]
          const { value: y, grads } = tf.engine().gradients(() => block(savedInput, savedConstants, replay), xs, dy, true)
          y.dispose()
          return grads.map((g, i) => g ?? tf.zerosLike(xs[i]!))
        })
      } finally {
        engine.state.activeTape = outerTape
        engine.state.gradientDepth = outerDepth
      }
    }
    return { value, gradFunc }
  })
  return (run as (...ts: tf.Tensor[]) => tf.Tensor)(x, ...params)
}
