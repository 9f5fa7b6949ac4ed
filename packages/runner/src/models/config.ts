// Hugging Face config.json for the two supported architectures, with transformers' defaults, and
// back to JSON for saving. Unknown fields are kept (in `raw`) so a saved config round-trips.
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { BYTES_PER_WEIGHT, parameterCount, sizeProblem } from './size.ts'
import { Data } from 'effect'
import { ACTIVATIONS } from '../nn/activation.ts'

export class ModelConfigError extends Data.TaggedError('ModelConfigError')<{ readonly file: string; readonly reason: string }> {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

interface Labels {
  readonly numLabels: number
  readonly id2label: Readonly<Record<string, string>>
  readonly label2id: Readonly<Record<string, number>>
}

export interface DistilBertConfig extends Labels {
  readonly modelType: 'distilbert'
  readonly vocabSize: number
  readonly maxPositionEmbeddings: number
  readonly dim: number
  readonly nLayers: number
  readonly nHeads: number
  readonly hiddenDim: number
  readonly dropout: number
  readonly attentionDropout: number
  readonly seqClassifDropout: number
  readonly activation: string
  readonly initializerRange: number
  readonly padTokenId: number
  readonly raw: Readonly<Record<string, unknown>>
}

export interface BertConfig extends Labels {
  readonly modelType: 'bert'
  readonly vocabSize: number
  readonly hiddenSize: number
  readonly numHiddenLayers: number
  readonly numAttentionHeads: number
  readonly intermediateSize: number
  readonly hiddenAct: string
  readonly hiddenDropoutProb: number
  readonly attentionProbsDropoutProb: number
  readonly maxPositionEmbeddings: number
  readonly typeVocabSize: number
  readonly initializerRange: number
  readonly layerNormEps: number
  readonly padTokenId: number
  /** Dropout before the classifier: classifier_dropout when set, else hidden_dropout_prob. */
  readonly classifierDropout: number | null
  readonly raw: Readonly<Record<string, unknown>>
}

export type ModelConfig = DistilBertConfig | BertConfig

export interface ConfigOverrides {
  /** Number of classes of the classification head (replaces id2label with LABEL_i names when it differs). */
  readonly numLabels?: number
  /** Class names in index order (sets num_labels, id2label and label2id). */
  readonly labels?: readonly string[]
}

type Raw = Record<string, unknown>

function reader(raw: Raw, file: string) {
  const fail = (reason: string): never => {
    throw new ModelConfigError({ file, reason })
  }
  const num = (key: string, dflt: number | undefined, check: (v: number) => boolean = () => true, what = 'a number'): number => {
    const v = raw[key] ?? dflt
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) {
      return fail(`"${key}" must be ${what}${v === undefined ? ' (missing)' : `, found ${JSON.stringify(v)}`}`)
    }
    return v
  }
  const int = (key: string, dflt?: number) => num(key, dflt, (v) => Number.isInteger(v) && v > 0, 'a positive integer')
  const prob = (key: string, dflt: number) => num(key, dflt, (v) => v >= 0 && v < 1, 'a probability in [0, 1)')
  const str = (key: string, dflt: string): string => {
    const v = raw[key] ?? dflt
    if (typeof v !== 'string') return fail(`"${key}" must be a string, found ${JSON.stringify(v)}`)
    return v
  }
  return { fail, num, int, prob, str }
}

function labelsOf(raw: Raw, file: string, o: ConfigOverrides): Labels {
  const { fail } = reader(raw, file)
  if (o.labels) {
    const id2label = Object.fromEntries(o.labels.map((l, i) => [String(i), l]))
    return { numLabels: o.labels.length, id2label, label2id: Object.fromEntries(o.labels.map((l, i) => [l, i])) }
  }
  let id2label: Record<string, string> | null = null
  if (raw.id2label !== undefined) {
    if (typeof raw.id2label !== 'object' || raw.id2label === null) fail('"id2label" must be an object')
    id2label = Object.fromEntries(Object.entries(raw.id2label as Raw).map(([k, v]) => [String(Number(k)), String(v)]))
  }
  // transformers: num_labels defaults to 2, id2label decides when present, an explicit num_labels wins.
  const fromConfig = id2label ? Object.keys(id2label).length : typeof raw.num_labels === 'number' ? raw.num_labels : 2
  const n = o.numLabels ?? fromConfig
  if (!Number.isInteger(n) || n < 1) fail(`num_labels must be a positive integer, found ${n}`)
  if (n > MAX_LABELS) fail(`num_labels is ${n.toLocaleString('en-US')}; at most ${MAX_LABELS.toLocaleString('en-US')} classes are supported`)
  if (!id2label || Object.keys(id2label).length !== n) {
    id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]))
  }
  const label2id = Object.fromEntries(Object.entries(id2label).map(([k, v]) => [v, Number(k)]))
  return { numLabels: n, id2label, label2id }
}

/** Parses a config.json object. `file` names the source in error messages. */
export function parseModelConfig(raw: unknown, file = 'config.json', overrides: ConfigOverrides = {}): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelConfigError({ file, reason: 'config must be a JSON object' })
  }
  const r = raw as Raw
  const { fail, num, int, prob, str } = reader(r, file)
  const type = r.model_type
  if (type === 'distilbert') {
    if (r.sinusoidal_pos_embds === true) fail('"sinusoidal_pos_embds": true is not supported (only learned position embeddings)')
    const activation = str('activation', 'gelu')
    if (activation !== 'gelu' && activation !== 'relu') fail(`"activation" must be "gelu" or "relu", found "${activation}"`)
    const c: DistilBertConfig = {
      modelType: 'distilbert',
      vocabSize: int('vocab_size', 30522),
      maxPositionEmbeddings: int('max_position_embeddings', 512),
      dim: int('dim', 768),
      nLayers: int('n_layers', 6),
      nHeads: int('n_heads', 12),
      hiddenDim: int('hidden_dim', 3072),
      dropout: prob('dropout', 0.1),
      attentionDropout: prob('attention_dropout', 0.1),
      seqClassifDropout: prob('seq_classif_dropout', 0.2),
      activation,
      initializerRange: num('initializer_range', 0.02, (v) => v >= 0, 'a non-negative number'),
      padTokenId: num('pad_token_id', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer'),
      ...labelsOf(r, file, overrides),
      raw: r,
    }
    if (c.dim % c.nHeads !== 0) fail(`"dim" (${c.dim}) must be divisible by "n_heads" (${c.nHeads})`)
    if (c.padTokenId >= c.vocabSize) fail(`"pad_token_id" (${c.padTokenId}) must be below "vocab_size" (${c.vocabSize})`)
    checkSize(c, 'n_layers, dim, hidden_dim, vocab_size and max_position_embeddings', fail)
    return c
  }
  if (type === 'bert') {
    const pet = str('position_embedding_type', 'absolute')
    if (pet !== 'absolute') fail(`"position_embedding_type": "${pet}" is not supported (only "absolute")`)
    const hiddenAct = str('hidden_act', 'gelu')
    if (!ACTIVATIONS[hiddenAct]) fail(`"hidden_act": "${hiddenAct}" is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`)
    const cd = r.classifier_dropout
    const c: BertConfig = {
      modelType: 'bert',
      vocabSize: int('vocab_size', 30522),
      hiddenSize: int('hidden_size', 768),
      numHiddenLayers: int('num_hidden_layers', 12),
      numAttentionHeads: int('num_attention_heads', 12),
      intermediateSize: int('intermediate_size', 3072),
      hiddenAct,
      hiddenDropoutProb: prob('hidden_dropout_prob', 0.1),
      attentionProbsDropoutProb: prob('attention_probs_dropout_prob', 0.1),
      maxPositionEmbeddings: int('max_position_embeddings', 512),
      typeVocabSize: int('type_vocab_size', 2),
      initializerRange: num('initializer_range', 0.02, (v) => v >= 0, 'a non-negative number'),
      layerNormEps: num('layer_norm_eps', 1e-12, (v) => v > 0, 'a positive number'),
      padTokenId: num('pad_token_id', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer'),
      classifierDropout: cd === undefined || cd === null ? null : prob('classifier_dropout', 0),
      ...labelsOf(r, file, overrides),
      raw: r,
    }
    if (c.hiddenSize % c.numAttentionHeads !== 0) {
      fail(`"hidden_size" (${c.hiddenSize}) must be divisible by "num_attention_heads" (${c.numAttentionHeads})`)
    }
    if (c.padTokenId >= c.vocabSize) fail(`"pad_token_id" (${c.padTokenId}) must be below "vocab_size" (${c.vocabSize})`)
    checkSize(c, 'num_hidden_layers, hidden_size, intermediate_size, vocab_size and max_position_embeddings', fail)
    return c
  }
  return fail(`"model_type" must be "distilbert" or "bert", found ${JSON.stringify(type)}`)
}

/** More classes than any classification task has; the head and the label maps are built from it. */
export const MAX_LABELS = 1_000_000

// Before any weight exists: a config that cannot fit in memory is refused with the figures.
function checkSize(c: ModelConfig, keys: string, fail: (reason: string) => never): void {
  const problem = sizeProblem('this model', parameterCount(c), BYTES_PER_WEIGHT)
  if (problem) fail(`${problem}; check ${keys}`)
}

export async function readModelConfig(path: string, overrides: ConfigOverrides = {}): Promise<ModelConfig> {
  let text: string
  try {
    text = readUserText(path, FILE_KINDS.config)
  } catch (e) {
    throw new ModelConfigError({ file: path, reason: e instanceof UserFileError ? e.reason : `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new ModelConfigError({ file: path, reason: `not valid JSON (${(e as Error).message})` })
  }
  return parseModelConfig(json, path, overrides)
}

export function architectureName(c: ModelConfig): string {
  return c.modelType === 'distilbert' ? 'DistilBertForSequenceClassification' : 'BertForSequenceClassification'
}

/** config.json contents for a saved sequence-classification model (unknown fields kept). */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  const { num_labels: _drop, ...rest } = c.raw as Raw
  return {
    ...rest,
    architectures: [architectureName(c)],
    model_type: c.modelType,
    id2label: c.id2label,
    label2id: c.label2id,
  }
}

/** Hidden width of the encoder. */
export function hiddenSize(c: ModelConfig): number {
  return c.modelType === 'distilbert' ? c.dim : c.hiddenSize
}
