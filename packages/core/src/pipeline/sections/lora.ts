// The `lora` section: the adapter, with the names and defaults of PEFT's LoraConfig (`alpha` for
// lora_alpha, `dropout` for lora_dropout); `null` trains every weight instead.
import { PATH, type Decoded } from '../../schema/json-schema.ts'

export const loraSchema = {
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
    init_from: { type: 'string', [PATH]: true, description: 'Initialise the LoRA weights from this PEFT adapter folder instead of randomly.' },
  },
} as const

/** A `lora` section that is there (not `null`). */
export type LoraSection = NonNullable<Decoded<typeof loraSchema>>
