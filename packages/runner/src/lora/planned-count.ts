// The parameters a finetune stage will train, from the model's config.json alone (no weights read
// or allocated, no memory check: a 1B model's plan costs nothing): with LoRA, what PEFT's
// print_trainable_parameters prints; with `lora: null`, every weight. What `lorapipe plan` shows.
import type { LoraSection, ModelSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { FILE_KINDS, readUserText } from '@lorapipe/core/fs/user-file.ts'
import { configFields } from '../models/config-fields.ts'
import { findFamily, SUPPORTED_MODEL_TYPES } from '../models/families.ts'
import { elementCount } from '../models/spec.ts'
import type { ResolvedModel } from '../resolve/model.ts'
import { countPlannedParameters, formatParameterCount, planLora } from './inject.ts'

export interface PlannedCount {
  readonly trainable: number
  readonly total: number
  /** PEFT's line: `trainable params: ... || all params: ... || trainable%: ...` */
  readonly line: string
  /** The architecture, e.g. LlamaForCausalLM. */
  readonly architecture: string
}

/** The planned count of a stage's model and `lora` section; throws the config's or LoRA's own error. */
export function plannedCount(resolved: ResolvedModel, model: Pick<ModelSection, 'labels' | 'num_labels'>, lora: LoraSection | null | undefined): PlannedCount {
  const raw = JSON.parse(readUserText(resolved.configPath, FILE_KINDS.config)) as Record<string, unknown>
  const family = findFamily(raw.model_type)
  if (!family) throw new Error(`${resolved.configPath}: "model_type" must be ${SUPPORTED_MODEL_TYPES}, found ${JSON.stringify(raw.model_type)}`)
  const overrides = model.labels !== undefined ? { labels: [...model.labels] } : model.num_labels !== undefined ? { numLabels: model.num_labels } : {}
  const config = family.parseConfig(configFields(raw, resolved.configPath, overrides))
  const spec = family.spec(config)
  let count
  if (lora) count = countPlannedParameters(spec, planLora(spec, config.modelType, lora))
  else {
    const total = spec.params.reduce((n, p) => n + elementCount(p.shape), 0)
    count = { trainable: total, total }
  }
  return { ...count, line: formatParameterCount(count), architecture: family.architecture }
}
