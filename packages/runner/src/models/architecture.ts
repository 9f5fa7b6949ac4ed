// What the architecture modules (distilbert.ts, bert.ts) see of a model, and the dispatch from a
// config to its layout and forward function.
import type * as tf from '@tensorflow/tfjs-core'
import type { ModelConfig } from './config.ts'
import type { ModelSpec } from './spec.ts'
import type { LinearModule } from '../nn/linear-module.ts'
import type { ForwardContext } from '../nn/context.ts'
import { distilbertForward, distilbertSpec } from './distilbert.ts'
import { bertForward, bertSpec } from './bert.ts'

export interface ModelInputs {
  /** [B, L] token ids */
  readonly inputIds: tf.Tensor
  /** [B, L] 1 for tokens, 0 for padding */
  readonly attentionMask: tf.Tensor
  /** [B, L] segment ids (BERT only; zeros when absent) */
  readonly tokenTypeIds?: tf.Tensor | null
}

export interface ModelInternals<C extends ModelConfig = ModelConfig> {
  readonly config: C
  /** Tensor of the parameter with this state-dict name. */
  p(name: string): tf.Tensor
  /** Linear module at this path. */
  lin(path: string): LinearModule
}

export function modelSpec(c: ModelConfig): ModelSpec {
  return c.modelType === 'distilbert' ? distilbertSpec(c) : bertSpec(c)
}

export function runForward(m: ModelInternals, inputs: ModelInputs, ctx: ForwardContext): tf.Tensor2D {
  const c = m.config
  return c.modelType === 'distilbert'
    ? distilbertForward(m as ModelInternals<typeof c>, inputs, ctx)
    : bertForward(m as ModelInternals<typeof c>, inputs, ctx)
}
