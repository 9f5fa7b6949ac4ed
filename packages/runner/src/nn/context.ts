// What a forward pass needs besides its inputs: training mode (dropout on) and the random stream
// dropout masks come from.
import type { Rng } from './rng.ts'

export interface ForwardContext {
  readonly training: boolean
  /** Source of dropout masks; required when training with any dropout rate above 0. */
  readonly rng: Rng | null
  /**
   * Recompute each decoder layer in the backward pass instead of keeping its activations
   * (transformers' gradient_checkpointing; nn/checkpoint.ts). Only while training.
   */
  readonly checkpointing?: boolean
}

export const EVAL: ForwardContext = { training: false, rng: null }
