// The `tokenizer` section: which tokenizer, and how texts are cut and padded.
import { PATH, type Decoded } from '../../schema/json-schema.ts'

export const tokenizerSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', [PATH]: true, description: 'Tokenizer folder; defaults to the model folder.' },
    max_length: { type: 'integer', minimum: 2, default: 512, description: 'Longest example in tokens (TRL\'s `max_length`); longer ones are truncated (causal LM: the number of truncated rows is shown at the start), and packed sequences are at most this long.' },
    truncation: { type: 'boolean', default: true },
    padding: { enum: ['longest', 'max_length'], default: 'longest', description: '`longest` pads each batch to its longest sequence (dynamic padding).' },
    chat_template: { type: 'string', minLength: 1, description: "Causal LM: a Jinja chat template that renders `messages` rows, instead of the tokenizer's own (`chat_template` in tokenizer_config.json); or the name of one of the tokenizer's named templates." },
    pad_token: { type: 'string', minLength: 1, description: "Causal LM: the token batches are padded with (TRL's `pad_token`); default the tokenizer's pad_token, else its eos_token. Labels on padding are -100 whatever the token." },
    truncation_mode: { enum: ['keep_start', 'keep_end'], default: 'keep_start', description: "Causal LM: which part of an example longer than max_length is kept (TRL's `truncation_mode`)." },
  },
} as const

export type TokenizerSection = Decoded<typeof tokenizerSchema>
