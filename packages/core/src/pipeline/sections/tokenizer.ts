// The `tokenizer` section: which tokenizer, and how texts are cut and padded.
import { PATH, type Decoded } from '../../schema/json-schema.ts'

export const tokenizerSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', [PATH]: true, description: 'Tokenizer folder; defaults to the model folder.' },
    max_length: { type: 'integer', minimum: 2, default: 512 },
    truncation: { type: 'boolean', default: true },
    padding: { enum: ['longest', 'max_length'], default: 'longest', description: '`longest` pads each batch to its longest sequence (dynamic padding).' },
  },
} as const

export type TokenizerSection = Decoded<typeof tokenizerSchema>
