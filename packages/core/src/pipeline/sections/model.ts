// The `model` section: the pretrained model to fine-tune.
import { PATH, type Decoded } from '../../schema/json-schema.ts'
import { repoId, revision } from './hub.ts'

export const modelSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'The pretrained model to fine-tune. `path` (a local folder) wins over `id` (a hub repository).',
  properties: {
    id: { ...repoId, examples: ['distilbert-base-uncased', 'bert-base-uncased', 'HuggingFaceTB/SmolLM2-135M-Instruct'] },
    revision: { ...revision, default: 'main', description: 'Hub branch, tag or commit.' },
    path: { type: 'string', [PATH]: true, description: 'Local Hugging Face model folder (`config.json`, `model.safetensors`, tokenizer files). Relative to the pipeline file.' },
    init: {
      enum: ['pretrained', 'random'],
      default: 'pretrained',
      description: '`pretrained` loads the weights; `random` builds the architecture from `config` (or the model\'s config.json) with fresh seeded weights.',
    },
    config: { type: 'string', [PATH]: true, description: 'A `config.json` to build the model from when `init: random`. Relative to the pipeline file.' },
    task: {
      enum: ['causal-lm', 'sequence-classification'],
      description: "What the model is trained for: `causal-lm` (XForCausalLM: supervised fine-tuning of a decoder on chat, prompt/completion or text data) or `sequence-classification`. Taken from the model config's `architectures` (its `model_type`) when not set.",
    },
    num_labels: { type: 'integer', minimum: 1, maximum: 1000000, description: 'Number of classes of the classification head.' },
    labels: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Class names, index = label id (becomes `id2label`).' },
  },
} as const

export type ModelSection = Decoded<typeof modelSchema>
