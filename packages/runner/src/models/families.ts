// The model families lorapipe runs, by config.json's model_type. Adding one (gemma, phi3, ...) is
// its own file exporting a ModelFamily (family.ts), imported and listed here.
import type { ModelConfig, ModelFamily } from './family.ts'
import { ModelError } from './error.ts'
import { distilbert } from './distilbert.ts'
import { bert } from './bert.ts'
import { llama, mistral, qwen2 } from './llama.ts'

export const FAMILIES: readonly ModelFamily[] = [distilbert, bert, llama, mistral, qwen2]

/** `"distilbert", "bert", "llama", "mistral" or "qwen2"`: the model types, for messages. */
export const SUPPORTED_MODEL_TYPES = FAMILIES.map((f) => JSON.stringify(f.modelType)).join(', ').replace(/, ([^,]*)$/, ' or $1')
export const findFamily = (modelType: unknown): ModelFamily | undefined => FAMILIES.find((f) => f.modelType === modelType)

/** The family of a config (parseModelConfig makes only configs of these). */
export function familyOf(c: ModelConfig): ModelFamily {
  const family = findFamily(c.modelType)
  if (!family) throw new ModelError({ source: 'config', reason: `model_type ${JSON.stringify(c.modelType)} is none of ${SUPPORTED_MODEL_TYPES}` })
  return family
}

/** The parameter and linear-module layout of a config's model (no weights). */
export const modelSpec = (c: ModelConfig) => familyOf(c).spec(c)
/** Parameters of a config's model, in closed form (no layout built). */
export const parameterCount = (c: ModelConfig) => familyOf(c).parameterCount(c)
