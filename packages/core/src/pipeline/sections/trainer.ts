// The `trainer` section: optimisation and evaluation, with the names and defaults of transformers'
// TrainingArguments.
import type { Decoded } from '../../schema/json-schema.ts'
import { TRACKER_NAMES } from '../../tracking/names.ts'

export const trainerSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Optimisation and evaluation (names and defaults as transformers\' TrainingArguments).',
  properties: {
    epochs: { type: 'number', exclusiveMinimum: 0, default: 3, description: 'num_train_epochs; ignored when max_steps is set.' },
    max_steps: { type: 'integer', minimum: 1, description: 'Total optimizer steps; overrides epochs.' },
    batch_size: { type: 'integer', minimum: 1, default: 8, description: 'Training batch size (per optimizer micro-step).' },
    eval_batch_size: { type: 'integer', minimum: 1, default: 8 },
    learning_rate: { type: 'number', exclusiveMinimum: 0, default: 5e-5 },
    weight_decay: { type: 'number', minimum: 0, default: 0 },
    adam_beta1: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.9 },
    adam_beta2: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.999 },
    adam_epsilon: { type: 'number', exclusiveMinimum: 0, default: 1e-8 },
    scheduler: { enum: ['linear', 'cosine', 'constant', 'constant_with_warmup'], default: 'linear' },
    warmup_steps: { type: 'integer', minimum: 0, default: 0 },
    warmup_ratio: { type: 'number', minimum: 0, maximum: 1, default: 0 },
    gradient_accumulation_steps: { type: 'integer', minimum: 1, default: 1 },
    max_grad_norm: { type: 'number', minimum: 0, default: 1, description: 'Clip gradients to this global norm; 0 disables clipping.' },
    eval_every: { type: 'integer', minimum: 1, description: 'Evaluate every N optimizer steps (and at the end).' },
    log_every: { type: 'integer', minimum: 1, default: 50, description: 'Log training loss every N optimizer steps.' },
    save_every: { type: 'integer', minimum: 1, description: 'Write a checkpoint every N optimizer steps.' },
    save_total_limit: {
      type: ['integer', 'null'],
      minimum: 1,
      default: 1,
      description: 'Keep the newest N checkpoints, and the best one (by metric_for_best_model) besides; the default keeps the latest and the best. `null` keeps every checkpoint (transformers\' default).',
    },
    metric_for_best_model: {
      enum: ['loss', 'accuracy', 'f1', 'eval_loss', 'eval_accuracy', 'eval_f1'],
      default: 'loss',
      description: 'Metric that picks the best checkpoint (loss: lower is better; others: higher).',
    },
    load_best_model_at_end: { type: 'boolean', default: false },
    early_stopping: {
      type: 'object',
      additionalProperties: false,
      required: ['patience'],
      properties: {
        patience: { type: 'integer', minimum: 1, description: 'Stop after this many evaluations without improvement.' },
        threshold: { type: 'number', minimum: 0, default: 0, description: 'Minimum improvement that counts.' },
      },
    },
    group_by_length: { type: 'boolean', default: false, description: 'Batch examples of similar length together to cut padding work.' },
    report_to: {
      type: 'array',
      items: { enum: TRACKER_NAMES },
      uniqueItems: true,
      default: [],
      description: 'Experiment trackers that also receive the run\'s scalars and hyperparameters: `tensorboard` writes event files in the run folder\'s `tb/<stage>/`. Set at the top level, it also applies to custom stages that report training.',
    },
    completion_only_loss: { type: 'boolean', default: true, description: "Causal LM: train on the completion only (labels -100 on the prompt), as TRL's `completion_only_loss`; false trains on every token." },
    gradient_checkpointing: {
      type: 'boolean',
      default: false,
      description: "Causal LM: recompute each decoder layer in the backward pass instead of keeping its activations (transformers' gradient_checkpointing): far less memory for about a third more compute. A 135M model at batch 8 x 512 tokens needs it on the wasm backend (its heap stops at 4 GiB).",
    },
    packing: { type: 'boolean', default: false, description: "Causal LM: pack short examples into sequences of at most max_length tokens (TRL's `packing`, best-fit decreasing); attention stays within each example." },
  },
} as const

export type TrainerSection = Decoded<typeof trainerSchema>
