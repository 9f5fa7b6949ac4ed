// Which modules get LoRA and what becomes trainable (planLora, pure: works from the model layout
// alone, so parameter counts need no weights), and attaching LoRA layers to a model (injectLora).
import * as tf from '@tensorflow/tfjs-core'
import type { ParameterCount, PretrainedModel } from '../models/model.ts'
import { elementCount, type ModelSpec } from '../models/spec.ts'
import { BYTES_PER_TRAINED_WEIGHT, sizeProblem } from '../models/size.ts'
import { findFamily } from '../models/families.ts'
import { Param } from '../nn/params.ts'
import { Rng } from '../nn/rng.ts'
import { PEFT_ONLY, PEFT_TASK, targetRegex, type LoraSettings } from './peft-config.ts'
import { LoraError } from './error.ts'
import { LoraLayer } from './layer.ts'

export interface LoraTarget {
  readonly path: string
  readonly inFeatures: number
  readonly outFeatures: number
  readonly r: number
  readonly alpha: number
  readonly scaling: number
}

export interface LoraPlan {
  readonly targets: readonly LoraTarget[]
  /** Module paths trained fully and saved with the adapter. */
  readonly modulesToSave: readonly string[]
  /** Base parameter names made trainable (modules_to_save and biases), in model order. */
  readonly trainableBaseParams: readonly string[]
  /** Base parameter names saved in the adapter (modules_to_save, plus biases for bias all/lora_only). */
  readonly savedBaseParams: readonly string[]
}

/** PEFT's head names for SEQ_CLS, added to modules_to_save (when the model has them). */
const SEQ_CLS_HEADS = ['classifier', 'score']

const moduleOf = (param: string) => param.slice(0, param.lastIndexOf('.'))
const matchesName = (path: string, name: string) => path === name || path.endsWith(`.${name}`)

/** PEFT get_pattern_key: an exact key, else a key matching the end of the path as a regex. */
function patternKey(keys: readonly string[], path: string): string | null {
  if (keys.includes(path)) return path
  for (const k of keys) if (new RegExp(`^(.*\\.)?(${k})$`).test(path)) return k
  return null
}

function layerIndexAllowed(path: string, c: LoraSettings): boolean {
  const idx = c.layers_to_transform
  if (idx === undefined || (Array.isArray(idx) && idx.length === 0)) return true
  const patterns = c.layers_pattern === undefined ? [] : typeof c.layers_pattern === 'string' ? [c.layers_pattern] : c.layers_pattern
  let m: RegExpMatchArray | null = null
  if (patterns.length === 0) m = path.match(/^.*\.[^.]*\.(\d+)\./)
  else for (const p of patterns) if ((m = path.match(new RegExp(`^.*\\.${p}\\.(\\d+)\\.`)))) break
  if (!m) return false
  const i = Number(m[1])
  return typeof idx === 'number' ? i === idx : (idx as readonly number[]).includes(i)
}

/** Decides targets, ranks, scalings and trainable parameters as PEFT would for this model layout. */
export function planLora(spec: ModelSpec, modelType: string, c: LoraSettings): LoraPlan {
  const source = 'LoRA config'
  // A pattern that is not a regular expression is said as such, before anything else (the schema cannot tell).
  if (typeof c.target_modules === 'string' && c.target_modules !== 'all-linear') targetRegex(c.target_modules, source)
  const linearPaths = spec.linears.map((l) => l.path)
  const listing = `linear modules of this model: ${linearPaths.join(', ')}`

  // modules_to_save (SEQ_CLS adds the output head as PEFT does)
  const moduleNames = [...new Set(spec.params.map((p) => moduleOf(p.name)))]
  const requested = c.modules_to_save ?? []
  // A tied pair (lm_head and embed_tokens with tie_word_embeddings) is one tensor here; PEFT's
  // modules_to_save would train a separate copy of one side, which is not done: refuse, saying so.
  for (const [alias, owner] of spec.tied ?? []) {
    const sides = [moduleOf(alias), moduleOf(owner)]
    const hit = requested.find((name) => sides.some((m) => matchesName(m, name)))
    if (hit !== undefined) {
      throw new LoraError({
        source,
        reason: `modules_to_save "${hit}": ${sides[0]} and ${sides[1]} share one weight in this model (tie_word_embeddings: true), and training a separate copy of one of them (what PEFT does) is not supported; leave it out of modules_to_save`,
      })
    }
  }
  const family = findFamily(modelType)
  const task = c.task_type !== undefined ? c.task_type : family ? PEFT_TASK[family.task] : PEFT_ONLY.task_type
  const saveNames = task === 'SEQ_CLS' ? [...requested, ...SEQ_CLS_HEADS.filter((h) => !requested.includes(h))] : [...requested]
  const modulesToSave = new Set<string>()
  for (const name of saveNames) {
    const hits = moduleNames.filter((m) => matchesName(m, name))
    if (hits.length === 0 && requested.includes(name)) {
      throw new LoraError({ source, reason: `modules_to_save "${name}" matches no module; modules with parameters: ${moduleNames.join(', ')}` })
    }
    hits.forEach((h) => modulesToSave.add(h))
  }

  // target modules
  const t = c.target_modules ?? family?.loraTargets
  if (!t) throw new LoraError({ source, reason: `no default target_modules for model type "${modelType}"; set target_modules` })
  let chosen: string[]
  if (t === 'all-linear') {
    chosen = linearPaths.filter((p) => p !== spec.outputModule && !modulesToSave.has(p))
  } else if (typeof t === 'string') {
    const re = new RegExp(`^(?:${t})$`)
    chosen = linearPaths.filter((p) => re.test(p))
    if (chosen.length === 0) throw new LoraError({ source, reason: `target_modules regex ${JSON.stringify(t)} matches no linear module (it must match the whole path); ${listing}` })
  } else {
    const unmatched = t.filter((name) => !linearPaths.some((p) => matchesName(p, name)))
    if (unmatched.length > 0) {
      const others = moduleNames.filter((m) => unmatched.some((u) => matchesName(m, u)))
      const why = others.length > 0 ? ` (${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} not linear; LoRA applies to linear layers only)` : ''
      throw new LoraError({ source, reason: `target_modules ${unmatched.map((u) => `"${u}"`).join(', ')} match${unmatched.length === 1 ? 'es' : ''} no linear module${why}; ${listing}` })
    }
    chosen = linearPaths.filter((p) => t.some((name) => matchesName(p, name)) && layerIndexAllowed(p, c))
    if (chosen.length === 0) throw new LoraError({ source, reason: `layers_to_transform ${JSON.stringify(c.layers_to_transform)} leaves no target module; ${listing}` })
  }
  const clash = chosen.filter((p) => modulesToSave.has(p))
  if (clash.length > 0) {
    throw new LoraError({ source, reason: `${clash.join(', ')} cannot be both a LoRA target and in modules_to_save (it is trained fully already)` })
  }

  const rankPattern = c.rank_pattern ?? {}
  const alphaPattern = c.alpha_pattern ?? {}
  const rankKeys = Object.keys(rankPattern)
  const alphaKeys = Object.keys(alphaPattern)
  const targets = chosen.map((path): LoraTarget => {
    const lin = spec.linears.find((l) => l.path === path)!
    const rk = patternKey(rankKeys, path)
    const ak = patternKey(alphaKeys, path)
    const r = rk === null ? c.r : rankPattern[rk]!
    const alpha = ak === null ? c.alpha : alphaPattern[ak]!
    return { path, inFeatures: lin.inFeatures, outFeatures: lin.outFeatures, r, alpha, scaling: c.use_rslora ? alpha / Math.sqrt(r) : alpha / r }
  })

  // Before any LoRA weight exists: an absurd rank is refused with the figures, not an abort.
  const loraWeights = targets.reduce((n, t) => n + t.r * (t.inFeatures + t.outFeatures), 0)
  const tooBig = sizeProblem('the adapter', loraWeights, BYTES_PER_TRAINED_WEIGHT)
  if (tooBig) throw new LoraError({ source, reason: `r ${Math.max(...targets.map((t) => t.r)).toLocaleString('en-US')} is too large: ${tooBig} (weights, gradients and optimizer state); lower r or rank_pattern` })

  const targetSet = new Set(chosen)
  const isBias = (name: string) => c.bias === 'all' ? name.includes('bias') : c.bias === 'lora_only' ? name.endsWith('.bias') && targetSet.has(moduleOf(name)) : false
  const saved = spec.params.map((p) => p.name).filter((n) => modulesToSave.has(moduleOf(n)) || isBias(n))
  return { targets, modulesToSave: [...modulesToSave], trainableBaseParams: saved, savedBaseParams: saved }
}

/** Trainable and total parameter counts of a model layout with this plan (LoRA weights included; nothing allocated). */
export function countPlannedParameters(spec: ModelSpec, plan: LoraPlan): ParameterCount {
  const sizes = new Map(spec.params.map((p) => [p.name, elementCount(p.shape)]))
  const lora = plan.targets.reduce((n, t) => n + t.r * (t.inFeatures + t.outFeatures), 0)
  const base = [...sizes.values()].reduce((a, b) => a + b, 0)
  const trained = plan.trainableBaseParams.reduce((n, name) => n + sizes.get(name)!, 0)
  return { trainable: lora + trained, total: base + lora }
}

/** PEFT's print_trainable_parameters line: `trainable params: 739,586 || all params: 67,102,466 || trainable%: 1.1022`. */
export function formatParameterCount(c: ParameterCount): string {
  const fmt = (n: number) => n.toLocaleString('en-US')
  return `trainable params: ${fmt(c.trainable)} || all params: ${fmt(c.total)} || trainable%: ${((100 * c.trainable) / c.total).toFixed(4)}`
}

/** A model with LoRA attached: the handle adapters are saved, loaded and merged through. */
export class LoraModel<M extends PretrainedModel = PretrainedModel> {
  constructor(
    readonly model: M,
    readonly config: LoraSettings,
    readonly plan: LoraPlan,
    readonly layers: ReadonlyMap<string, LoraLayer>,
  ) {}

  get merged(): boolean {
    return [...this.layers.values()].some((l) => l.merged)
  }

  /** LoRA A/B parameters in target order. */
  loraParameters(): Param[] {
    return [...this.layers.values()].flatMap((l) => [l.A, l.B])
  }

  countParameters(): ParameterCount {
    return this.model.countParameters()
  }

  describe(): string {
    return formatParameterCount(this.countParameters())
  }

  /** Detaches the LoRA layers and drops their weights (merge first to keep their effect). */
  remove(): void {
    for (const l of this.layers.values()) {
      this.model.linearModule(l.path).adapter = null
      this.model.params.remove(l.A.name)
      this.model.params.remove(l.B.name)
    }
  }
}

export interface InjectOptions {
  /** Seed of the LoRA A initialisation and of dropout (default 0). */
  readonly seed?: number
}

/**
 * Attaches LoRA to the planned linear modules of `model` and freezes everything except the LoRA
 * weights, modules_to_save and the biases the config trains. Weights: A as PEFT (Kaiming-uniform
 * bound 1/sqrt(in), or normal(0, 1/r) for 'gaussian'), B zero; parameter names `<path>.lora_A.weight`.
 */
export function injectLora<M extends PretrainedModel>(model: M, config: LoraSettings, options: InjectOptions = {}): LoraModel<M> {
  const already = [...model.linears.values()].filter((l) => l.adapter !== null).map((l) => l.path)
  if (already.length > 0) throw new LoraError({ source: model.name, reason: `already has LoRA on ${already.join(', ')}; one adapter per model` })
  const plan = planLora(model.spec, model.config.modelType, config)
  const rng = new Rng(options.seed ?? 0)
  const layers = new Map<string, LoraLayer>()
  for (const t of plan.targets) {
    const a =
      config.init_lora_weights === 'gaussian'
        ? rng.fillNormal(t.r * t.inFeatures, 0, 1 / t.r)
        : rng.fillUniform(t.r * t.inFeatures, -1 / Math.sqrt(t.inFeatures), 1 / Math.sqrt(t.inFeatures))
    const A = model.params.add(new Param(`${t.path}.lora_A.weight`, tf.tensor2d(a, [t.r, t.inFeatures]), true))
    const B = model.params.add(new Param(`${t.path}.lora_B.weight`, tf.zeros([t.outFeatures, t.r]), true))
    const layer = new LoraLayer(t.path, A, B, t.r, t.alpha, t.scaling, config.dropout)
    model.linearModule(t.path).adapter = layer
    layers.set(t.path, layer)
  }
  const trainable = new Set([...plan.trainableBaseParams, ...[...layers.values()].flatMap((l) => [l.A.name, l.B.name])])
  model.setTrainable((p) => trainable.has(p.name))
  return new LoraModel(model, config, plan, layers)
}
