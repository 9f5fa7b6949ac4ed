// PEFT's adapter_config.json, read and written: its names <-> the `lora` section's (lora_alpha <->
// alpha, lora_dropout <-> dropout, the rest alike). Keys an adapter_config.json leaves out take the
// section's defaults, which are PEFT's LoraConfig's. What only PEFT has (task_type,
// init_lora_weights, fan_in_fan_out, use_dora, inference_mode) stays in this module.
import { loraSchema, type LoraSection } from '@lorapipe/core/pipeline/sections/index.ts'
import type { Written } from '@lorapipe/core/schema/json-schema.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { LoraError } from './error.ts'

/**
 * The `lora` section as the LoRA code takes it, decoded. Besides what a pipeline can say: no
 * target_modules means PEFT's default for the model type (DistilBERT q_lin, v_lin; BERT query,
 * value), layers_pattern may be a list, and an adapter_config.json may set PEFT's task_type (null:
 * no classification head is saved) and init_lora_weights ('gaussian': A normal(0, 1/r)).
 */
export type LoraSettings = Omit<LoraSection, 'target_modules' | 'layers_pattern'> & {
  readonly target_modules?: LoraSection['target_modules']
  readonly layers_pattern?: string | string[]
  readonly task_type?: 'SEQ_CLS' | 'CAUSAL_LM' | null
  readonly init_lora_weights?: true | 'gaussian'
}

/** PEFT's values of its own fields for an adapter made from a pipeline (sequence classification, PEFT's initialisation). */
export const PEFT_ONLY = { task_type: 'SEQ_CLS', init_lora_weights: true } as const

/** PEFT's task_type of each task (a family's model.task). */
export const PEFT_TASK = { 'sequence-classification': 'SEQ_CLS', 'causal-lm': 'CAUSAL_LM' } as const

/** Settings with the `lora` section's defaults for what `partial` leaves out. */
export function loraSettings(partial: Partial<LoraSettings> = {}): LoraSettings {
  return withDefaults(loraSchema, partial as Written<typeof loraSchema>) as LoraSettings
}

/** PEFT's name -> the section's. */
const NAMES = {
  r: 'r', lora_alpha: 'alpha', lora_dropout: 'dropout', target_modules: 'target_modules', bias: 'bias', modules_to_save: 'modules_to_save',
  use_rslora: 'use_rslora', rank_pattern: 'rank_pattern', alpha_pattern: 'alpha_pattern', layers_to_transform: 'layers_to_transform',
  layers_pattern: 'layers_pattern', init_lora_weights: 'init_lora_weights', task_type: 'task_type',
} as const satisfies Record<string, keyof LoraSettings>

/** Keys PEFT writes as null when they are not set. */
const NULL_IS_UNSET = new Set(['target_modules', 'modules_to_save', 'rank_pattern', 'alpha_pattern', 'layers_to_transform', 'layers_pattern'])

/** Reads PEFT's adapter_config.json contents. */
export function loraFromPeft(json: unknown, source = 'adapter_config.json'): LoraSettings {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LoraError({ source, reason: 'must be a JSON object' })
  const j = json as Record<string, unknown>
  if (j.peft_type !== undefined && j.peft_type !== 'LORA') {
    throw new LoraError({ source, reason: `peft_type is ${JSON.stringify(j.peft_type)}; only LORA adapters are supported` })
  }
  if (j.use_dora === true) throw new LoraError({ source, reason: 'DoRA adapters (use_dora: true) are not supported' })
  if (j.fan_in_fan_out === true) throw new LoraError({ source, reason: 'fan_in_fan_out: true is for Conv1D models (GPT-2), not supported' })
  const s: Record<string, unknown> = {}
  for (const [peft, ours] of Object.entries(NAMES)) if (j[peft] !== undefined && !(j[peft] === null && NULL_IS_UNSET.has(ours))) s[ours] = j[peft]
  if (s.task_type !== undefined && s.task_type !== null && s.task_type !== 'SEQ_CLS' && s.task_type !== 'CAUSAL_LM') {
    throw new LoraError({ source, reason: `task_type ${JSON.stringify(s.task_type)} is not supported (sequence classification: SEQ_CLS, causal language modelling: CAUSAL_LM)` })
  }
  if (s.init_lora_weights === false) s.init_lora_weights = true
  return checked(loraSettings(s), source)
}

/** A regular expression from `target_modules`, or a LoraError saying why it is not one. */
export function targetRegex(pattern: string, source: string): RegExp {
  try {
    return new RegExp(pattern)
  } catch (e) {
    throw new LoraError({ source, reason: `target_modules is not a valid regular expression (${(e as Error).message})` })
  }
}

/** An adapter_config.json is untrusted input: its values are checked as the section's schema checks a pipeline's. */
function checked(c: LoraSettings, source: string): LoraSettings {
  const fail = (reason: string): never => {
    throw new LoraError({ source, reason })
  }
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0
  if (!posInt(c.r)) fail(`r must be a positive integer, found ${JSON.stringify(c.r)}`)
  if (typeof c.alpha !== 'number' || !Number.isFinite(c.alpha)) fail(`lora_alpha must be a number, found ${JSON.stringify(c.alpha)}`)
  if (typeof c.dropout !== 'number' || c.dropout < 0 || c.dropout >= 1) fail(`lora_dropout must be in [0, 1), found ${JSON.stringify(c.dropout)}`)
  if (!(loraSchema.properties.bias.enum as readonly unknown[]).includes(c.bias)) fail(`bias must be "none", "all" or "lora_only", found ${JSON.stringify(c.bias)}`)
  const t = c.target_modules
  if (typeof t === 'string') {
    if (t !== 'all-linear') targetRegex(t, source)
  } else if (t !== undefined && (!Array.isArray(t) || t.length === 0 || !t.every((x) => typeof x === 'string' && x.length > 0))) {
    fail('target_modules must be a non-empty list of module names, a regular expression, or "all-linear"')
  }
  for (const [k, v] of Object.entries(c.rank_pattern ?? {})) if (!posInt(v)) fail(`rank_pattern["${k}"] must be a positive integer, found ${JSON.stringify(v)}`)
  for (const [k, v] of Object.entries(c.alpha_pattern ?? {})) if (typeof v !== 'number') fail(`alpha_pattern["${k}"] must be a number`)
  const ltt = c.layers_to_transform
  if (ltt !== undefined && !(Number.isInteger(ltt) || (Array.isArray(ltt) && ltt.every((i) => Number.isInteger(i))))) {
    fail('layers_to_transform must be a layer index or a list of them')
  }
  if (c.init_lora_weights !== undefined && c.init_lora_weights !== true && c.init_lora_weights !== 'gaussian') fail('init_lora_weights must be true or "gaussian"')
  return c
}

export interface PeftConfigExtras {
  readonly baseModelNameOrPath?: string | null
  readonly inferenceMode?: boolean
  /** Resolved targets to write (PEFT writes the list it matched by name). */
  readonly targetModules?: readonly string[] | string
}

/** adapter_config.json contents as PEFT writes them (an unset key as PEFT writes it: null, or {} for a pattern). */
export function loraToPeft(c: LoraSettings, extras: PeftConfigExtras = {}): Record<string, unknown> {
  const targets = extras.targetModules ?? c.target_modules ?? null
  return {
    peft_type: 'LORA',
    task_type: c.task_type === undefined ? PEFT_ONLY.task_type : c.task_type,
    base_model_name_or_path: extras.baseModelNameOrPath ?? null,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: Array.isArray(targets) ? [...targets].sort() : targets,
    bias: c.bias,
    fan_in_fan_out: false,
    modules_to_save: c.modules_to_save ? [...c.modules_to_save] : null,
    use_rslora: c.use_rslora,
    use_dora: false,
    rank_pattern: { ...c.rank_pattern },
    alpha_pattern: { ...c.alpha_pattern },
    layers_to_transform: c.layers_to_transform ?? null,
    layers_pattern: c.layers_pattern ?? null,
    init_lora_weights: c.init_lora_weights ?? PEFT_ONLY.init_lora_weights,
    inference_mode: extras.inferenceMode ?? true,
  }
}
