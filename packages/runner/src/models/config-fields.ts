// config.json's fields as a model family reads them (parseConfig): each checked, with transformers'
// default when absent, and a bad one refused with a ModelConfigError naming the file and the key.
import { Data } from 'effect'

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

/** The classes of the head (num_labels, id2label, label2id), as transformers keeps them in every config.json. */
export type Labels = ReturnType<typeof labelsOf>

export type ConfigFields = ReturnType<typeof configFields>

type Raw = Record<string, unknown>

export function configFields(raw: Raw, file: string, overrides: ConfigOverrides) {
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
  return { raw: raw as Readonly<Raw>, fail, num, int, prob, str, labels: () => labelsOf(raw, fail, overrides) }
}

function labelsOf(raw: Raw, fail: (reason: string) => never, o: ConfigOverrides) {
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

/** More classes than any classification task has; the head and the label maps are built from it. */
export const MAX_LABELS = 1_000_000
