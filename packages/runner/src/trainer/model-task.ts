// Which task a stage trains or evaluates: `model.task` when set, else the one its model's
// config.json says (its `model_type`, whose family has one head: LlamaForCausalLM,
// DistilBertForSequenceClassification, ...). A set task that the model cannot do is bad input.
import type { ModelSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { readModelConfig, type ModelConfig } from '../models/config.ts'
import { FAMILIES, familyOf } from '../models/families.ts'
import type { ModelTask } from '../models/family.ts'
import type { ResolvedModel } from '../resolve/model.ts'
import { SetupError } from './setup.ts'

/** The model types of a task, for messages: `"llama", "mistral" or "qwen2"`. */
export function modelTypesOf(task: ModelTask): string {
  return FAMILIES.filter((f) => f.task === task).map((f) => JSON.stringify(f.modelType)).join(', ').replace(/, ([^,]*)$/, ' or $1')
}

/** The task of a config, checked against `model.task`. */
export function taskOfConfig(model: Pick<ModelSection, 'task'>, config: ModelConfig, configPath: string): ModelTask {
  const family = familyOf(config)
  if (model.task !== undefined && model.task !== family.task) {
    throw new SetupError({
      message: `model.task is ${model.task} but ${configPath} is a ${family.architecture} (model_type "${config.modelType}"), a ${family.task} model; ${model.task} models are of model_type ${modelTypesOf(model.task)}: use such a model, or drop model.task`,
    })
  }
  return family.task
}

/** The task of a resolved model (its config.json read once, without labels applied). */
export async function modelTask(model: Pick<ModelSection, 'task'>, resolved: ResolvedModel): Promise<{ task: ModelTask; config: ModelConfig }> {
  const config = await readModelConfig(resolved.configPath)
  return { task: taskOfConfig(model, config, resolved.configPath), config }
}
