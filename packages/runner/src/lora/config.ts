// LoRA settings with the meaning and defaults of PEFT's LoraConfig, and conversion from/to the
// adapter_config.json that PEFT writes.
import { LoraError } from './error.ts'

export type LoraBias = 'none' | 'all' | 'lora_only'

export interface LoraConfig {
  readonly r: number
  readonly loraAlpha: number
  readonly loraDropout: number
  /**
   * Which linear modules get LoRA: a list of names (a module matches when its path equals the name
   * or ends with `.name`), a regular expression string (must match the whole path, as re.fullmatch),
   * `all-linear` (every linear layer except the output head), or null for the model family's PEFT
   * default (its loraTargets: DistilBERT q_lin, v_lin; BERT query, value).
   */
  readonly targetModules: readonly string[] | string | null
  readonly bias: LoraBias
  /** Modules trained fully and saved with the adapter (for SEQ_CLS, `classifier` is always added). */
  readonly modulesToSave: readonly string[] | null
  /** scaling = alpha / sqrt(r) instead of alpha / r. */
  readonly useRslora: boolean
  /** Per-module rank: keys are module names or regexes matched against the end of the path. */
  readonly rankPattern: Readonly<Record<string, number>>
  readonly alphaPattern: Readonly<Record<string, number>>
  /** Only these layer indices (list-style target_modules only). */
  readonly layersToTransform: readonly number[] | number | null
  /** Name of the layer list in the path (e.g. `layer`) used to find the layer index. */
  readonly layersPattern: readonly string[] | string | null
  /** true: A Kaiming-uniform, B zero (PEFT default); 'gaussian': A normal(0, 1/r), B zero. */
  readonly initLoraWeights: true | 'gaussian'
  readonly taskType: 'SEQ_CLS' | 'CAUSAL_LM' | null
}

export const LORA_DEFAULTS: LoraConfig = {
  r: 8,
  loraAlpha: 8,
  loraDropout: 0,
  targetModules: null,
  bias: 'none',
  modulesToSave: null,
  useRslora: false,
  rankPattern: {},
  alphaPattern: {},
  layersToTransform: null,
  layersPattern: null,
  initLoraWeights: true,
  taskType: 'SEQ_CLS',
}

/** A complete, validated config from partial settings (PEFT defaults for the rest). */
export function loraConfig(settings: Partial<LoraConfig> = {}, source = 'LoRA config'): LoraConfig {
  const c: LoraConfig = { ...LORA_DEFAULTS, ...settings }
  const fail = (reason: string): never => {
    throw new LoraError({ source, reason })
  }
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0
  if (!posInt(c.r)) fail(`r must be a positive integer, found ${JSON.stringify(c.r)}`)
  if (typeof c.loraAlpha !== 'number' || !Number.isFinite(c.loraAlpha)) fail(`lora_alpha must be a number, found ${JSON.stringify(c.loraAlpha)}`)
  if (typeof c.loraDropout !== 'number' || c.loraDropout < 0 || c.loraDropout >= 1) fail(`lora_dropout must be in [0, 1), found ${JSON.stringify(c.loraDropout)}`)
  if (!['none', 'all', 'lora_only'].includes(c.bias)) fail(`bias must be "none", "all" or "lora_only", found ${JSON.stringify(c.bias)}`)
  if (typeof c.targetModules === 'string') {
    if (c.targetModules !== 'all-linear') {
      try {
        new RegExp(c.targetModules)
      } catch (e) {
        fail(`target_modules is not a valid regular expression (${(e as Error).message})`)
      }
    }
  } else if (c.targetModules !== null) {
    if (!Array.isArray(c.targetModules) || c.targetModules.length === 0 || !c.targetModules.every((t) => typeof t === 'string' && t.length > 0)) {
      fail('target_modules must be a non-empty list of module names, a regular expression, or "all-linear"')
    }
  }
  for (const [k, v] of Object.entries(c.rankPattern)) if (!posInt(v)) fail(`rank_pattern["${k}"] must be a positive integer, found ${JSON.stringify(v)}`)
  for (const [k, v] of Object.entries(c.alphaPattern)) if (typeof v !== 'number') fail(`alpha_pattern["${k}"] must be a number`)
  const ltt = c.layersToTransform
  if (ltt !== null && !(Number.isInteger(ltt) || (Array.isArray(ltt) && ltt.every((i) => Number.isInteger(i))))) {
    fail('layers_to_transform must be a layer index or a list of them')
  }
  if (c.initLoraWeights !== true && c.initLoraWeights !== 'gaussian') fail('init_lora_weights must be true or "gaussian"')
  return c
}

type Raw = Record<string, unknown>

/** Reads PEFT's adapter_config.json contents. */
export function loraConfigFromPeft(json: unknown, source = 'adapter_config.json'): LoraConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LoraError({ source, reason: 'must be a JSON object' })
  const j = json as Raw
  if (j.peft_type !== undefined && j.peft_type !== 'LORA') {
    throw new LoraError({ source, reason: `peft_type is ${JSON.stringify(j.peft_type)}; only LORA adapters are supported` })
  }
  if (j.use_dora === true) throw new LoraError({ source, reason: 'DoRA adapters (use_dora: true) are not supported' })
  if (j.fan_in_fan_out === true) throw new LoraError({ source, reason: 'fan_in_fan_out: true is for Conv1D models (GPT-2), not supported' })
  const s: Record<string, unknown> = {}
  const map: Array<[string, keyof LoraConfig]> = [
    ['r', 'r'], ['lora_alpha', 'loraAlpha'], ['lora_dropout', 'loraDropout'], ['target_modules', 'targetModules'],
    ['bias', 'bias'], ['modules_to_save', 'modulesToSave'], ['use_rslora', 'useRslora'], ['rank_pattern', 'rankPattern'],
    ['alpha_pattern', 'alphaPattern'], ['layers_to_transform', 'layersToTransform'], ['layers_pattern', 'layersPattern'],
    ['init_lora_weights', 'initLoraWeights'], ['task_type', 'taskType'],
  ]
  for (const [peft, ours] of map) if (j[peft] !== undefined) s[ours] = j[peft]
  // PEFT may store target_modules as a set serialised to a list; rank/alpha patterns may be null.
  if (s.rankPattern === null) delete s.rankPattern
  if (s.alphaPattern === null) delete s.alphaPattern
  if (s.taskType !== undefined && s.taskType !== null && s.taskType !== 'SEQ_CLS' && s.taskType !== 'CAUSAL_LM') {
    throw new LoraError({ source, reason: `task_type ${JSON.stringify(s.taskType)} is not supported (sequence classification: SEQ_CLS, causal language modelling: CAUSAL_LM)` })
  }
  if (s.initLoraWeights === false) s.initLoraWeights = true
  return loraConfig(s as Partial<LoraConfig>, source)
}

export interface PeftConfigExtras {
  readonly baseModelNameOrPath?: string | null
  readonly inferenceMode?: boolean
  /** Resolved targets to write (PEFT writes the list it matched by name). */
  readonly targetModules?: readonly string[] | string
}

/** adapter_config.json contents as PEFT writes them. */
export function loraConfigToPeft(c: LoraConfig, extras: PeftConfigExtras = {}): Record<string, unknown> {
  const targets = extras.targetModules ?? c.targetModules
  return {
    peft_type: 'LORA',
    task_type: c.taskType,
    base_model_name_or_path: extras.baseModelNameOrPath ?? null,
    r: c.r,
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    target_modules: Array.isArray(targets) ? [...targets].sort() : targets,
    bias: c.bias,
    fan_in_fan_out: false,
    modules_to_save: c.modulesToSave ? [...c.modulesToSave] : null,
    use_rslora: c.useRslora,
    use_dora: false,
    rank_pattern: { ...c.rankPattern },
    alpha_pattern: { ...c.alphaPattern },
    layers_to_transform: c.layersToTransform,
    layers_pattern: c.layersPattern,
    init_lora_weights: c.initLoraWeights,
    inference_mode: extras.inferenceMode ?? true,
  }
}
