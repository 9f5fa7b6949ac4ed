// Adapters in the Hugging Face PEFT file format: adapter_config.json + adapter_model.safetensors
// with keys `base_model.model.<module path>.lora_A.weight` ([r, in]), `.lora_B.weight` ([out, r]),
// and modules_to_save parameters as `base_model.model.<param name>`. Older layouts
// (`.modules_to_save.default.`, `.lora_A.default.weight`) are accepted when reading.
import { statSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { join } from 'node:path'
import type { PretrainedModel } from '../models/model.ts'
import type { ModelSpec } from '../models/spec.ts'
import { readSafetensors, type LoadedTensor } from '../safetensors/read.ts'
import { writeSafetensors, type TensorToWrite } from '../safetensors/write.ts'
import { writeFileAtomic } from '@lorapipe/core/fs/atomic.ts'
import { loraFromPeft, loraToPeft, PEFT_TASK, type LoraSettings } from './peft-config.ts'
import { LoraError } from './error.ts'
import { injectLora, type LoraModel, type LoraPlan } from './inject.ts'

export const ADAPTER_CONFIG = 'adapter_config.json'
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors'
const PREFIX = 'base_model.model.'

/** Maps a PEFT key to our parameter name (`<path>.lora_A.weight`, `classifier.weight`, ...). */
export function adapterKeyToParam(key: string): string {
  let k = key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key
  k = k.replace('.modules_to_save.default.', '.').replace('.modules_to_save.', '.')
  k = k.replace(/\.(lora_[AB])\.default\.weight$/, '.$1.weight')
  return k
}

export interface SaveAdapterOptions {
  /** Written as base_model_name_or_path (e.g. the hub id or folder the base model came from). */
  readonly baseModelNameOrPath?: string | null
}

/** The tensors an adapter file holds for this LoRA model, by PEFT key. */
export function adapterTensors(lora: LoraModel): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>()
  for (const l of lora.layers.values()) {
    out.set(`${PREFIX}${l.A.name}`, { shape: l.A.shape, data: l.A.read() })
    out.set(`${PREFIX}${l.B.name}`, { shape: l.B.shape, data: l.B.read() })
  }
  for (const name of lora.plan.savedBaseParams) {
    const p = lora.model.parameter(name)
    out.set(`${PREFIX}${name}`, { shape: p.shape, data: p.read() })
  }
  return out
}

/** Writes adapter_config.json + adapter_model.safetensors that PEFT's PeftModel.from_pretrained loads. */
export async function saveAdapter(lora: LoraModel, dir: string, options: SaveAdapterOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true })
  const t = lora.config.target_modules
  // PEFT stores the names it matched; for a list we keep the user's names, for a regex the regex.
  const targetModules = t === undefined ? [...new Set(lora.plan.targets.map((x) => x.path.split('.').pop()!))] : t
  // The task is the model's (PEFT's task_type): a decoder's adapter is CAUSAL_LM whatever the config said.
  const cfg = loraToPeft({ ...lora.config, task_type: PEFT_TASK[lora.model.family.task] }, { baseModelNameOrPath: options.baseModelNameOrPath ?? null, targetModules })
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), adapterTensors(lora), { format: 'pt' })
  await writeFileAtomic(join(dir, ADAPTER_CONFIG), `${JSON.stringify(cfg, null, 2)}\n`)
}

export async function readAdapterConfig(dir: string): Promise<LoraSettings> {
  const file = join(dir, ADAPTER_CONFIG)
  let text: string
  try {
    text = readUserText(file, FILE_KINDS.config)
  } catch (e) {
    throw new LoraError({ source: file, reason: e instanceof UserFileError ? e.reason : `cannot read the adapter config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new LoraError({ source: file, reason: `not valid JSON (${(e as Error).message})` })
  }
  return loraFromPeft(json, file)
}

export interface AssignReport {
  /** Parameter names set from the adapter. */
  readonly loaded: string[]
}

/**
 * Why `dir` is not a PEFT adapter folder (adapter_config.json + adapter_model.safetensors), or
 * undefined. Said before anything is read, by the preflight and when an adapter is loaded.
 */
export function adapterFolderProblem(dir: string): string | undefined {
  let isDir: boolean
  try {
    isDir = statSync(dir).isDirectory()
  } catch {
    return 'no such folder'
  }
  if (!isDir) return `is a file, not an adapter folder (one with ${ADAPTER_CONFIG} and ${ADAPTER_WEIGHTS})`
  const missing = [ADAPTER_CONFIG, ADAPTER_WEIGHTS].filter((f) => {
    try {
      return !statSync(join(dir, f)).isFile()
    } catch {
      return true
    }
  })
  return missing.length > 0 ? `is not a PEFT adapter folder: no ${missing.join(' and no ')}` : undefined
}

function checkAdapterFolder(dir: string): void {
  const problem = adapterFolderProblem(dir)
  if (problem) throw new LoraError({ source: dir, reason: problem })
}

/** The tensors an adapter must hold for a model, by parameter name and shape: LoRA A/B (all of them), and the base parameters it may save. */
export interface AdapterLayout {
  readonly lora: ReadonlyMap<string, readonly number[]>
  readonly saved: ReadonlyMap<string, readonly number[]>
}

/** The layout a LoRA plan gives a model, from the model's layout alone (no weights): what the preflight checks an adapter against. */
export function plannedAdapterLayout(spec: ModelSpec, plan: LoraPlan): AdapterLayout {
  const shapes = new Map(spec.params.map((p) => [p.name, p.shape]))
  return {
    lora: new Map(plan.targets.flatMap((t) => [[`${t.path}.lora_A.weight`, [t.r, t.inFeatures]], [`${t.path}.lora_B.weight`, [t.outFeatures, t.r]]] as const)),
    saved: new Map(plan.savedBaseParams.map((n) => [n, shapes.get(n) ?? []])),
  }
}

function layoutOf(lora: LoraModel): AdapterLayout {
  return {
    lora: new Map(lora.loraParameters().map((p) => [p.name, p.shape])),
    saved: new Map(lora.plan.savedBaseParams.map((n) => [n, lora.model.parameter(n).shape])),
  }
}

/**
 * Why tensors of these shapes (by PEFT key) do not fit the layout, or undefined. Every LoRA A/B
 * must be there with its shape (so a rank mismatch is an error); a key with no place is an error
 * too, naming it. modules_to_save weights are optional (the model keeps its own if absent).
 */
export function adapterMismatch(layout: AdapterLayout, tensors: Iterable<readonly [string, readonly number[]]>): string | undefined {
  const byParam = new Map<string, readonly number[]>()
  for (const [k, shape] of tensors) byParam.set(adapterKeyToParam(k), shape)
  const problems: string[] = []
  const unexpected = [...byParam.keys()].filter((k) => !layout.lora.has(k) && !layout.saved.has(k))
  if (unexpected.length > 0) {
    problems.push(`unexpected keys (not LoRA weights or modules_to_save of this model): ${unexpected.slice(0, 6).join(', ')}${unexpected.length > 6 ? ', ...' : ''}`)
  }
  const missing = [...layout.lora.keys()].filter((k) => !byParam.has(k))
  if (missing.length > 0) problems.push(`missing LoRA weights: ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', ...' : ''}`)
  for (const [name, shape] of byParam) {
    const want = layout.lora.get(name) ?? layout.saved.get(name)
    if (want && (shape.length !== want.length || shape.some((d, i) => d !== want[i]))) {
      problems.push(`${name}: adapter shape [${shape}], model expects [${want}]${name.includes('lora_') ? ' (a different rank r?)' : ''}`)
    }
  }
  return problems.length > 0 ? `adapter does not fit the model: ${problems.join('; ')}` : undefined
}

/** Copies adapter tensors (PEFT keys) into the LoRA model, once `adapterMismatch` finds nothing wrong. */
export function assignAdapterTensors(lora: LoraModel, tensors: ReadonlyMap<string, LoadedTensor>, source: string): AssignReport {
  const problem = adapterMismatch(layoutOf(lora), [...tensors].map(([k, t]) => [k, t.shape] as const))
  if (problem) throw new LoraError({ source, reason: problem })
  const loaded: string[] = []
  for (const [k, t] of tensors) {
    const name = adapterKeyToParam(k)
    lora.model.parameter(name).assign(Float32Array.from(t.data))
    loaded.push(name)
  }
  return { loaded }
}

export interface LoadAdapterOptions {
  /** false (PEFT's default for from_pretrained): everything frozen, for inference. true: trainable as configured. */
  readonly isTrainable?: boolean
  /** Seed of the model's LoRA dropout stream. */
  readonly seed?: number
}

/** Attaches a saved PEFT adapter to `model` (as PeftModel.from_pretrained). */
export async function loadAdapter<M extends PretrainedModel>(model: M, dir: string, options: LoadAdapterOptions = {}): Promise<LoraModel<M>> {
  checkAdapterFolder(dir)
  const config = await readAdapterConfig(dir)
  const want = PEFT_TASK[model.family.task]
  if (config.task_type !== undefined && config.task_type !== null && config.task_type !== want) {
    throw new LoraError({ source: join(dir, ADAPTER_CONFIG), reason: `task_type ${config.task_type} does not fit ${model.name}, a ${model.family.task} model (${want})` })
  }
  const file = join(dir, ADAPTER_WEIGHTS)
  const weights = await readSafetensors(file)
  const lora = injectLora(model, config, { seed: options.seed ?? 0 })
  try {
    assignAdapterTensors(lora, weights.tensors, file)
  } catch (e) {
    lora.remove()
    throw e
  }
  if (!options.isTrainable) model.setTrainable(() => false)
  return lora
}

/**
 * `lora.init_from: <adapter dir>`: starts training from an existing adapter's weights. The LoRA
 * model (already injected with the run's config) must have the same targets and ranks.
 */
export async function initFromAdapter(lora: LoraModel, dir: string): Promise<AssignReport> {
  checkAdapterFolder(dir)
  const file = join(dir, ADAPTER_WEIGHTS)
  const weights = await readSafetensors(file)
  return assignAdapterTensors(lora, weights.tensors, file)
}
