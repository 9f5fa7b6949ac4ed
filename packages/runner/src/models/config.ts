// Hugging Face config.json: read by its model family (families.ts) with transformers' defaults,
// and back to JSON for saving. Unknown fields are kept (in `raw`) so a saved config round-trips.
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { BYTES_PER_WEIGHT, sizeProblem } from './size.ts'
import { configFields, ModelConfigError, type ConfigOverrides } from './config-fields.ts'
import type { ModelConfig } from './family.ts'
import { familyOf, findFamily, SUPPORTED_MODEL_TYPES } from './families.ts'

export type { ModelConfig }

/** Parses a config.json object. `file` names the source in error messages. */
export function parseModelConfig(raw: unknown, file = 'config.json', overrides: ConfigOverrides = {}): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelConfigError({ file, reason: 'config must be a JSON object' })
  }
  const fields = configFields(raw as Record<string, unknown>, file, overrides)
  const family = findFamily(fields.raw.model_type)
  if (!family) return fields.fail(`"model_type" must be ${SUPPORTED_MODEL_TYPES}, found ${JSON.stringify(fields.raw.model_type)}`)
  const c = family.parseConfig(fields)
  // Before any weight exists: a config that cannot fit in memory is refused with the figures.
  const problem = sizeProblem('this model', family.parameterCount(c), BYTES_PER_WEIGHT)
  if (problem) fields.fail(`${problem}; check ${family.sizeKeys}`)
  return c
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

/** config.json contents for a saved model (unknown fields kept; a classifier's labels as set). */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  const family = familyOf(c)
  if (family.task !== 'sequence-classification') return { ...c.raw, architectures: [family.architecture], model_type: c.modelType }
  const { num_labels: _drop, ...rest } = c.raw
  return {
    ...rest,
    architectures: [family.architecture],
    model_type: c.modelType,
    id2label: c.id2label,
    label2id: c.label2id,
  }
}

