// Hugging Face config.json: read by its model family (families.ts) with transformers' defaults,
// and back to JSON for saving. Unknown fields are kept (in `raw`) so a saved config round-trips.
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { BYTES_PER_WEIGHT, sizeProblem } from './size.ts'
import { Data } from 'effect'
import type { ConfigFields, Labels, ModelConfig } from './family.ts'
import { familyOf, findFamily, SUPPORTED_MODEL_TYPES } from './families.ts'

export type { ModelConfig }

export class ModelConfigError extends Data.TaggedError('ModelConfigError')<{ readonly file: string; readonly reason: string }> {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

export interface ConfigOverrides {
  /** Number of classes of the classification head (replaces id2label with LABEL_i names when it differs). */
  readonly numLabels?: number
  /** Class names in index order (sets num_labels, id2label and label2id). */
  readonly labels?: readonly string[]
}

type Raw = Record<string, unknown>

function reader(raw: Raw, file: string, overrides: ConfigOverrides): ConfigFields {
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
  return { raw, fail, num, int, prob, str, labels: () => labelsOf(raw, fail, overrides) }
}

function labelsOf(raw: Raw, fail: (reason: string) => never, o: ConfigOverrides): Labels {
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
  const fields = reader(raw as Raw, file, overrides)
  const family = findFamily(fields.raw.model_type)
  if (!family) return fields.fail(`"model_type" must be ${SUPPORTED_MODEL_TYPES}, found ${JSON.stringify(fields.raw.model_type)}`)
  const c = family.parseConfig(fields)
  // Before any weight exists: a config that cannot fit in memory is refused with the figures.
  const problem = sizeProblem('this model', family.parameterCount(c), BYTES_PER_WEIGHT)
  if (problem) fields.fail(`${problem}; check ${family.sizeKeys}`)
  return c
}

/** More classes than any classification task has; the head and the label maps are built from it. */
export const MAX_LABELS = 1_000_000

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

/** config.json contents for a saved sequence-classification model (unknown fields kept). */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  const { num_labels: _drop, ...rest } = c.raw as Raw
  return {
    ...rest,
    architectures: [familyOf(c).architecture],
    model_type: c.modelType,
    id2label: c.id2label,
    label2id: c.label2id,
  }
}

