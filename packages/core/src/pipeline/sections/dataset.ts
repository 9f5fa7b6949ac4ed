// The `dataset` section: where the training and evaluation examples come from.
import { PATH, PATTERN_WORDS, type Decoded } from '../../schema/json-schema.ts'
import { repoId, revision, SEGMENT } from './hub.ts'

export const splitSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Where a split comes from: a hub split name, a local file (or glob), or a ratio carved from the train data.',
  properties: {
    split: { type: 'string', description: 'Split name on the hub (`train`, `validation`, `test`).' },
    path: { type: 'string', [PATH]: true, description: 'Local file or glob (TSV, CSV, JSONL, Parquet). Wins over `split`. Relative to the pipeline file.' },
    format: { enum: ['tsv', 'csv', 'jsonl', 'parquet'], description: 'File format; inferred from the extension when absent.' },
    ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Carve this fraction out of the train data (deterministic, seeded) instead of reading a file.' },
    shuffle: { type: 'boolean', default: false },
    seed: { type: 'integer', minimum: 0, description: 'Shuffle seed; defaults to the pipeline seed.' },
    limit: { type: 'integer', minimum: 1, description: 'Keep only the first N examples (after shuffling).' },
  },
} as const

export const datasetSchema = {
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
    text_column: { type: 'string', default: 'text', description: 'Column of the text (classification, and causal-LM `text` rows).' },
    text_pair_column: { type: 'string', description: 'Second text column for sentence-pair tasks.' },
    label_column: { type: 'string', default: 'label' },
    labels: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'Label names when labels are strings in the data; index = label id.' },
    kind: {
      enum: ['messages', 'prompt-completion', 'text'],
      description: 'Causal LM: what the rows hold (TRL\'s dataset types): `messages` (a chat, rendered by the chat template, the last assistant message trained on), `prompt-completion`, or `text` (every token trained on). Detected from the columns when not set.',
    },
    messages_column: { type: 'string', default: 'messages', description: 'Causal LM: column of the chat (a list of {role, content}).' },
    prompt_column: { type: 'string', default: 'prompt', description: 'Causal LM: column of the prompt (prompt-completion rows).' },
    completion_column: { type: 'string', default: 'completion', description: 'Causal LM: column of the completion (prompt-completion rows).' },
    train: splitSchema,
    eval: splitSchema,
  },
} as const

export type DatasetSection = Decoded<typeof datasetSchema>
export type SplitSection = Decoded<typeof splitSchema>
