// Building models: from a Hugging Face folder (config.json + model.safetensors), or randomly
// initialised from a config as transformers' _init_weights; and saving back to such a folder.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { readModelConfig, configToJson, type ModelConfig } from './config.ts'
import type { ConfigOverrides } from './config-fields.ts'
import { familyOf, modelSpec } from './families.ts'
import { elementCount, type ModelSpec, type ParamSpec } from './spec.ts'
import { SequenceClassifier } from './classifier.ts'
import { CausalLm } from './causal-lm.ts'
import type { PretrainedModel } from './model.ts'
import type { ModelTask } from './family.ts'
import { ModelError } from './error.ts'
import { Param, ParamStore } from '../nn/params.ts'
import { Rng } from '../nn/rng.ts'
import { readSafetensors, type LoadedTensor } from '../safetensors/read.ts'
import { writeSafetensors, type TensorToWrite } from '../safetensors/write.ts'
import { writeFileAtomic } from '@lorapipe/core/fs/atomic.ts'

export interface ModelOptions extends ConfigOverrides {
  /** Seed for freshly initialised weights and the model's dropout stream (default 0). */
  readonly seed?: number
}

export interface LoadOptions extends ModelOptions {
  /** Re-initialise head weights whose shape differs from the checkpoint (e.g. another num_labels) instead of failing. */
  readonly ignoreMismatchedSizes?: boolean
}

export interface LoadReport {
  /** Parameters the checkpoint lacked (all freshly initialised head/pooler weights). */
  readonly missingKeys: string[]
  /** Checkpoint tensors the model does not use (e.g. the masked-LM head). */
  readonly unexpectedKeys: string[]
  /** Head weights re-initialised because their shape differed (ignoreMismatchedSizes). */
  readonly mismatchedKeys: string[]
  /** Human-readable warnings in the words of transformers. */
  readonly warnings: string[]
}

export interface LoadedModel {
  readonly model: SequenceClassifier
  readonly report: LoadReport
}

export interface LoadedCausalLm {
  readonly model: CausalLm
  readonly report: LoadReport
}

/** Initial values as transformers' _init_weights: normal(0, initializer_range), padding row zero, LayerNorm 1/0, biases 0. */
export function initialValues(spec: ParamSpec, std: number, rng: Rng): Float32Array {
  const n = elementCount(spec.shape)
  switch (spec.init.kind) {
    case 'zeros':
      return new Float32Array(n)
    case 'ones':
      return new Float32Array(n).fill(1)
    case 'normal': {
      const out = rng.fillNormal(n, 0, std)
      const pad = spec.init.paddingIdx
      if (pad !== undefined) {
        const width = spec.shape[1]!
        out.fill(0, pad * width, (pad + 1) * width)
      }
      return out
    }
  }
}

function storeFrom(spec: ModelSpec, values: (s: ParamSpec) => Float32Array): ParamStore {
  const store = new ParamStore()
  for (const s of spec.params) store.add(new Param(s.name, tf.tensor(values(s), [...s.shape], 'float32')))
  return store
}

/** Refuses a config of another task than the loader's, saying which loader takes it. */
function requireTask(config: ModelConfig, task: ModelTask, source: string): void {
  const family = familyOf(config)
  if (family.task === task) return
  throw new ModelError({ source, reason: `${family.architecture} (model_type "${config.modelType}") is a ${family.task} model, not a ${task} model (model.task)` })
}

/** A randomly initialised model of this config (all parameters frozen until something makes them trainable). */
export function createRandomModel(config: ModelConfig, options: ModelOptions = {}): SequenceClassifier {
  requireTask(config, 'sequence-classification', 'config')
  const seed = options.seed ?? 0
  const rng = new Rng(seed)
  const spec = modelSpec(config)
  return new SequenceClassifier(config, storeFrom(spec, (s) => initialValues(s, config.initializerRange, rng)), seed)
}

/** A randomly initialised causal LM of this config (normal(0, initializer_range), norms 1), all frozen. */
export function createRandomCausalLm(config: ModelConfig, options: ModelOptions = {}): CausalLm {
  requireTask(config, 'causal-lm', 'config')
  const seed = options.seed ?? 0
  const rng = new Rng(seed)
  const spec = modelSpec(config)
  return new CausalLm(config, storeFrom(spec, (s) => initialValues(s, config.initializerRange, rng)), seed)
}

/**
 * The weight files of a folder: model.safetensors, or the shards that model.safetensors.index.json
 * lists (each a file beside it, each there). Checks the files exist without reading them, so that a
 * missing shard is found before a run starts.
 */
export function checkpointFiles(dir: string): { files: string[]; index?: { file: string; map: Record<string, unknown> } } {
  const single = join(dir, 'model.safetensors')
  if (existsSync(single)) return { files: [single] }
  const index = join(dir, 'model.safetensors.index.json')
  if (existsSync(index)) {
    let map: Record<string, unknown>
    try {
      map = JSON.parse(readUserText(index, FILE_KINDS.config)).weight_map
      if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Error('no "weight_map" object')
    } catch (e) {
      throw new ModelError({ source: index, reason: e instanceof UserFileError ? e.reason : `not a valid shard index (${(e as Error).message})` })
    }
    const shards = [...new Set(Object.values(map))]
    for (const shard of shards) {
      // A shard is a file beside the index, nothing else (no folders, no way out of the model folder).
      if (typeof shard !== 'string' || !/^[^/\\]+\.safetensors$/.test(shard) || shard.startsWith('.')) {
        throw new ModelError({ source: index, reason: `weight_map names ${JSON.stringify(shard)}, not a .safetensors file name in this folder` })
      }
    }
    const missing = (shards as string[]).filter((shard) => !existsSync(join(dir, shard)))
    if (missing.length > 0) {
      throw new ModelError({
        source: dir,
        reason: `${missing.length} of the ${shards.length} shards that model.safetensors.index.json lists ${missing.length === 1 ? 'is' : 'are'} missing: ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''} (an interrupted download? fetch the model again)`,
      })
    }
    return { files: (shards as string[]).map((s) => join(dir, s)), index: { file: index, map } }
  }
  if (existsSync(join(dir, 'pytorch_model.bin'))) {
    throw new ModelError({
      source: dir,
      reason: 'only pytorch_model.bin found: PyTorch pickle checkpoints are not loaded (unsafe, needs torch); use a model that ships model.safetensors or convert it',
    })
  }
  throw new ModelError({ source: dir, reason: 'no model.safetensors (or model.safetensors.index.json) in this folder' })
}

/** Reads the checkpoint tensors of a folder: model.safetensors, or shards listed in model.safetensors.index.json. */
export async function readCheckpoint(dir: string): Promise<Map<string, LoadedTensor>> {
  const { files, index } = checkpointFiles(dir)
  if (!index) return new Map((await readSafetensors(files[0]!)).tensors)
  const out = new Map<string, LoadedTensor>()
  for (const file of files) for (const [k, t] of (await readSafetensors(file)).tensors) out.set(k, t)
  const absent = Object.entries(index.map).filter(([k]) => !out.has(k))
  if (absent.length > 0) {
    throw new ModelError({ source: index.file, reason: `${absent.length} tensor(s) it lists are not in their shard: ${absent.slice(0, 4).map(([k, f]) => `${k} (${String(f)})`).join(', ')}` })
  }
  return out
}

/** Old BERT checkpoints name LayerNorm parameters gamma/beta; transformers renames them. */
function fixKey(k: string): string {
  if (k.endsWith('.gamma')) return `${k.slice(0, -6)}.weight`
  if (k.endsWith('.beta')) return `${k.slice(0, -5)}.bias`
  return k
}

interface Weights {
  readonly values: Map<string, Float32Array>
  readonly report: LoadReport
}

/** The spec's values from a folder's checkpoint (+ fresh head weights), and what was missing, unused or re-initialised. */
async function loadWeights(dir: string, config: ModelConfig, options: LoadOptions): Promise<Weights> {
  const family = familyOf(config)
  const arch = family.architecture
  const spec = modelSpec(config)
  const raw = await readCheckpoint(dir)
  const ckpt = new Map<string, LoadedTensor>()
  for (const [k, t] of raw) ckpt.set(fixKey(k), t)

  const expected = new Set(spec.params.map((s) => s.name))
  // Tied weights (lm_head with tie_word_embeddings): transformers leaves them out of the file and
  // ignores them when present.
  for (const name of spec.tied?.keys() ?? []) expected.add(name)
  const prefix = `${spec.prefix}.`
  const hasPrefix = [...ckpt.keys()].some((k) => k.startsWith(prefix))
  // A bare base-model checkpoint (DistilBertModel / BertModel / LlamaModel) stores `embeddings...` without the prefix.
  const source = (name: string): string => (!hasPrefix && name.startsWith(prefix) ? name.slice(prefix.length) : name)

  const seed = options.seed ?? 0
  const rng = new Rng(seed)
  const used = new Set<string>()
  const missing: string[] = []
  const mismatched: string[] = []
  const missingEncoder: string[] = []
  const shapeErrors: string[] = []
  const values = new Map<string, Float32Array>()
  for (const s of spec.params) {
    const key = source(s.name)
    const t = ckpt.get(key)
    if (t) {
      used.add(key)
      if (!(t.data instanceof Float32Array)) {
        shapeErrors.push(`${key} has integer dtype ${t.dtype}, expected a floating type`)
      } else if (tf.util.arraysEqual(t.shape, [...s.shape])) {
        values.set(s.name, t.data)
        continue
      } else if (s.role === 'head' && options.ignoreMismatchedSizes) {
        mismatched.push(`${s.name}: checkpoint [${t.shape}] vs model [${s.shape}]`)
      } else {
        shapeErrors.push(`${key}: checkpoint shape [${t.shape}], model expects [${s.shape}]`)
        continue
      }
    } else if (s.role === 'encoder') {
      missingEncoder.push(s.name)
      continue
    } else {
      missing.push(s.name)
    }
  }
  if (missingEncoder.length > 0) {
    const what = family.task === 'causal-lm' ? 'weight(s)' : 'encoder weight(s)'
    throw new ModelError({
      source: dir,
      reason: `the checkpoint lacks ${missingEncoder.length} ${what} of ${arch}: ${missingEncoder.slice(0, 8).join(', ')}${missingEncoder.length > 8 ? ', ...' : ''} (is this a ${config.modelType} checkpoint matching config.json?)`,
    })
  }
  if (shapeErrors.length > 0) {
    const hint = shapeErrors.some((e) => e.startsWith('classifier.') || e.startsWith('pre_classifier.'))
      ? ' (a head of another size: set ignoreMismatchedSizes to re-initialise it)'
      : ''
    throw new ModelError({ source: dir, reason: `weights do not fit the model: ${shapeErrors.join('; ')}${hint}` })
  }
  // Fresh weights in spec order, each from the seeded stream, so the same seed gives the same head.
  for (const s of spec.params) {
    if (!values.has(s.name)) values.set(s.name, initialValues(s, config.initializerRange, rng))
  }
  const unexpected = [...ckpt.keys()].filter((k) => !used.has(k) && !expected.has(k))

  const warnings: string[] = []
  if (unexpected.length > 0) {
    warnings.push(
      `Some weights of the model checkpoint at ${dir} were not used when initializing ${arch}: [${unexpected.join(', ')}]\n` +
        `- This IS expected if you are initializing ${arch} from the checkpoint of a model trained on another task or with another architecture (e.g. a masked-LM checkpoint).`,
    )
  }
  const fresh = [...missing, ...mismatched.map((m) => m.split(':')[0]!)]
  if (fresh.length > 0) {
    warnings.push(
      `Some weights of ${arch} were not initialized from the model checkpoint at ${dir} and are newly initialized: [${fresh.join(', ')}]\n` +
        'You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.',
    )
  }
  return { values, report: { missingKeys: missing, unexpectedKeys: unexpected, mismatchedKeys: mismatched, warnings } }
}

/**
 * Loads a Hugging Face folder into a sequence-classification model. Accepts checkpoints with or
 * without the `distilbert.`/`bert.` prefix and base masked-LM checkpoints (their MLM head is
 * ignored; the classification head is initialised freshly, seeded, with a warning). A missing
 * encoder weight or a shape mismatch is an error.
 */
export async function loadPretrained(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const config = await readModelConfig(join(dir, 'config.json'), options)
  requireTask(config, 'sequence-classification', dir)
  const { values, report } = await loadWeights(dir, config, options)
  const model = new SequenceClassifier(config, storeFrom(modelSpec(config), (s) => values.get(s.name)!), options.seed ?? 0)
  return { model, report }
}

/**
 * Loads a Hugging Face decoder folder (config.json + model.safetensors, or shards listed in
 * model.safetensors.index.json; F32, F16 or BF16 weights, computed in float32) as a causal LM. Every
 * weight must be there (lm_head too, unless tied to the embeddings); extra tensors are reported.
 */
export async function loadCausalLm(dir: string, options: ModelOptions = {}): Promise<LoadedCausalLm> {
  const config = await readModelConfig(join(dir, 'config.json'), options)
  requireTask(config, 'causal-lm', dir)
  const { values, report } = await loadWeights(dir, config, options)
  const model = new CausalLm(config, storeFrom(modelSpec(config), (s) => values.get(s.name)!), options.seed ?? 0)
  return { model, report }
}

export interface SaveOptions {
  /** Values to write instead of the model's own for these parameter names (e.g. merged LoRA weights). */
  readonly overrides?: ReadonlyMap<string, Float32Array>
}

/** Writes config.json + model.safetensors that transformers loads as the same model (base weights only, no LoRA; tied weights once). */
export async function saveModel(model: PretrainedModel, dir: string, options: SaveOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true })
  const tensors = new Map<string, TensorToWrite>()
  for (const s of model.spec.params) {
    const data = options.overrides?.get(s.name) ?? model.parameter(s.name).read()
    tensors.set(s.name, { shape: s.shape, data })
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' })
  await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(configToJson(model.config), null, 2)}\n`)
}
