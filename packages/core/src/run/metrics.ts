// The shape of a fine-tuning run's `metrics.json`, shared by the trainer that writes it, the
// `compare` stage and the report that read it.

export interface EvalRecord {
  readonly step: number
  readonly epoch: number
  readonly loss: number
  /** Classifiers. */
  readonly accuracy?: number
  readonly f1?: number
  /** Causal LMs: exp(loss), the loss being the mean over all labelled tokens of the split. */
  readonly perplexity?: number
  readonly runtime_s: number
  readonly samples_per_s: number
  /** Causal LMs: real tokens read per second. */
  readonly tokens_per_s?: number
}

export interface TrainRecord {
  readonly step: number
  readonly epoch: number
  readonly loss: number
  readonly learning_rate: number
  readonly grad_norm?: number
}

export interface RunMetrics {
  /** `lora` or `full`. */
  readonly method: string
  readonly trainable_params: number
  readonly total_params: number
  readonly train: { readonly runtime_s: number; readonly samples_per_s: number; readonly steps: number; readonly epochs: number; readonly loss?: number; readonly tokens_per_s?: number }
  /** The last evaluation (or the best one when the best model is loaded at the end). */
  readonly eval: EvalRecord
  readonly best?: { readonly step: number; readonly metric: string; readonly value: number }
  readonly history: { readonly train: readonly TrainRecord[]; readonly eval: readonly EvalRecord[] }
}
