// The sections of a pipeline, each declared once, in its own file, as a JSON Schema literal: the
// validator, the published `schemas/pipeline.schema.json`, editor completion, the README reference,
// the TypeScript types the runner takes (`Decoded`) and the defaults (filled in once, when a
// pipeline is loaded, or by `withDefaults`) all come from there. Defaults follow Hugging Face
// transformers' TrainingArguments and PEFT's LoraConfig.
import { datasetSchema } from './dataset.ts'
import { loraSchema } from './lora.ts'
import { modelSchema } from './model.ts'
import { tokenizerSchema } from './tokenizer.ts'
import { trainerSchema } from './trainer.ts'

export * from './dataset.ts'
export * from './lora.ts'
export * from './model.ts'
export * from './tokenizer.ts'
export * from './trainer.ts'
export * from './runtime.ts'
export * from './output.ts'
export * from './seed.ts'

/** The job sections a fine-tuning stage takes, each optional at the top level of a pipeline. */
export const jobProperties = {
  model: modelSchema,
  lora: loraSchema,
  dataset: datasetSchema,
  tokenizer: tokenizerSchema,
  trainer: trainerSchema,
} as const
