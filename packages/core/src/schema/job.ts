// JSON Schema (draft 2020-12) of a fine-tuning job: model, lora, dataset, tokenizer, trainer.
// This is the single source of truth for the pipeline language: the validator, the published
// `schemas/pipeline.schema.json`, editor completion and the README reference all come from here.
// Defaults follow Hugging Face transformers' TrainingArguments and PEFT's LoraConfig.

export type JSONSchema = { [k: string]: unknown }

/**
 * Marks a file or folder path. In a pipeline file it is relative to that file; given with `--set`
 * it is relative to the current folder, as a user typing it on the command line expects.
 */
export const PATH = 'x-lorapipe-path'
const path = { [PATH]: true }

/** Words for a `pattern`, used in the diagnostic instead of the regular expression. */
export const PATTERN_WORDS = 'x-lorapipe-pattern'

// A revision names a file under the cache's refs/ (and branches such as refs/convert/parquet have
// slashes): path segments without `.`, `..`, backslashes or control characters, as the hub client
// checks at run time. Caught here so a bad one is bad input before anything runs.
const SEGMENT = String.raw`[^/\\\u0000-\u001f\u007f]+`
const revision = {
  type: 'string',
  pattern: String.raw`^(?!.*\.lock$)(?!(?:.*/)?\.\.?(?:/|$))${SEGMENT}(?:/${SEGMENT})*$`,
  [PATTERN_WORDS]: 'a branch, tag or commit: names separated by `/`, none of them `.` or `..`',
}

const repoId = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$',
  description: 'Hugging Face hub repository id, `name` or `org/name`.',
}

export const modelSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'The pretrained model to fine-tune. `path` (a local folder) wins over `id` (a hub repository).',
  properties: {
    id: { ...repoId, examples: ['distilbert-base-uncased', 'bert-base-uncased'] },
    revision: { ...revision, default: 'main', description: 'Hub branch, tag or commit.' },
    path: { type: 'string', ...path, description: 'Local Hugging Face model folder (`config.json`, `model.safetensors`, tokenizer files). Relative to the pipeline file.' },
    init: {
      enum: ['pretrained', 'random'],
      default: 'pretrained',
      description: '`pretrained` loads the weights; `random` builds the architecture from `config` (or the model\'s config.json) with fresh seeded weights.',
    },
    config: { type: 'string', ...path, description: 'A `config.json` to build the model from when `init: random`. Relative to the pipeline file.' },
    task: { enum: ['sequence-classification'], default: 'sequence-classification' },
    num_labels: { type: 'integer', minimum: 1, maximum: 1000000, description: 'Number of classes of the classification head.' },
    labels: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Class names, index = label id (becomes `id2label`).' },
  },
}

export const loraSchema: JSONSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['target_modules'],
  description: 'LoRA adapter (PEFT `LoraConfig` semantics). `null` means full fine-tuning.',
  properties: {
    target_modules: {
      type: ['string', 'array'],
      items: { type: 'string', minLength: 1 },
      minItems: 1,
      description: 'Modules to wrap: a list of names (matching the end of the module path, e.g. `q_lin`), a regular expression matched against the full path, or `all-linear`.',
      examples: [['q_lin', 'v_lin'], 'all-linear'],
    },
    r: { type: 'integer', minimum: 1, default: 8, description: 'Rank of the update B A.' },
    alpha: { type: 'number', exclusiveMinimum: 0, default: 8, description: 'lora_alpha: the update is scaled by alpha / r (alpha / sqrt(r) with use_rslora).' },
    dropout: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Dropout on the LoRA branch input.' },
    bias: { enum: ['none', 'all', 'lora_only'], default: 'none', description: 'Which biases are trained.' },
    modules_to_save: {
      type: ['array', 'null'],
      items: { type: 'string' },
      description: 'Modules trained in full and saved with the adapter (default for sequence classification: the classification head).',
    },
    use_rslora: { type: 'boolean', default: false, description: 'Rank-stabilised scaling alpha / sqrt(r).' },
    rank_pattern: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 }, description: 'Per-module rank: pattern -> r.' },
    alpha_pattern: { type: 'object', additionalProperties: { type: 'number', exclusiveMinimum: 0 }, description: 'Per-module alpha: pattern -> alpha.' },
    layers_to_transform: {
      type: ['integer', 'array'],
      items: { type: 'integer', minimum: 0 },
      minimum: 0,
      description: 'Only these layer indices get LoRA.',
    },
    layers_pattern: { type: 'string', description: 'Name of the layer list in module paths (e.g. `layer`), used with layers_to_transform.' },
    init_from: { type: 'string', ...path, description: 'Initialise the LoRA weights from this PEFT adapter folder instead of randomly.' },
  },
}

const splitSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Where a split comes from: a hub split name, a local file (or glob), or a ratio carved from the train data.',
  properties: {
    split: { type: 'string', description: 'Split name on the hub (`train`, `validation`, `test`).' },
    path: { type: 'string', ...path, description: 'Local file or glob (TSV, CSV, JSONL, Parquet). Wins over `split`. Relative to the pipeline file.' },
    format: { enum: ['tsv', 'csv', 'jsonl', 'parquet'], description: 'File format; inferred from the extension when absent.' },
    ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Carve this fraction out of the train data (deterministic, seeded) instead of reading a file.' },
    shuffle: { type: 'boolean', default: false },
    seed: { type: 'integer', minimum: 0, description: 'Shuffle seed; defaults to the pipeline seed.' },
    limit: { type: 'integer', minimum: 1, description: 'Keep only the first N examples (after shuffling).' },
  },
}

export const datasetSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Training and evaluation data.',
  properties: {
    id: { ...repoId, examples: ['glue', 'nyu-mll/glue'], description: 'Hub dataset id.' },
    config: {
      type: 'string',
      pattern: String.raw`^(?!\.\.?$)${SEGMENT}$`,
      [PATTERN_WORDS]: 'a configuration name such as `sst2` (no `/`, not `.` or `..`)',
      description: 'Dataset configuration (e.g. `sst2`).',
    },
    revision: { ...revision, default: 'main' },
    text_column: { type: 'string', default: 'text' },
    text_pair_column: { type: 'string', description: 'Second text column for sentence-pair tasks.' },
    label_column: { type: 'string', default: 'label' },
    labels: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Label names when labels are strings in the data; index = label id.' },
    train: splitSchema,
    eval: splitSchema,
  },
}

export const tokenizerSchema: JSONSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', ...path, description: 'Tokenizer folder; defaults to the model folder.' },
    max_length: { type: 'integer', minimum: 2, default: 512 },
    truncation: { type: 'boolean', default: true },
    padding: { enum: ['longest', 'max_length'], default: 'longest', description: '`longest` pads each batch to its longest sequence (dynamic padding).' },
  },
}

export const trainerSchema: JSONSchema = {
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
  },
}

/** The job sections a fine-tuning stage takes, each optional at this level. */
export const jobProperties: Record<string, JSONSchema> = {
  model: modelSchema,
  lora: loraSchema,
  dataset: datasetSchema,
  tokenizer: tokenizerSchema,
  trainer: trainerSchema,
}
