// What each built-in stage reads, and the backend and BLAS a run asks for, checked before a run
// folder exists, so that bad input (labels that do not fit the model, a missing column, an empty
// split, a model folder that is not one, LoRA targets the model does not have, a tokenizer or
// adapter folder without one, a BLAS library that does not load) ends with exit 2 and nothing
// written. The registry (stages/registry.ts) names each stage's check; pipeline.ts runs them.
// Only what is local or already cached is checked: a preflight never downloads; what must come
// from the hub is checked when the stage starts, and the preflight says so. Each check calls the
// code the stage itself runs (resolveModel, prepareData, stageTokenizer, the adapter reader), so
// that `validate` and `run` give the same verdict.
import { join, isAbsolute, resolve } from 'node:path'
import type { Diagnostic } from '@lorapipe/core'
import { escapeKey } from '@lorapipe/core/source/merge.ts'
import { machineThreads } from '@lorapipe/core/os/threads.ts'
import { blasRequest, resolveBlas } from '../backend/blas/request.ts'
import { backendProblem, backendRequest } from '../backend/request.ts'
import type { ModelConfig } from '../models/config.ts'
import type { ResolvedModel } from '../resolve/model.ts'

const BAD_INPUT = new Set(['SetupError', 'DatasetError', 'DatasetSplitNotFoundError', 'ModelSourceError', 'ModelConfigError', 'TokenizerError', 'LoraError', 'SafetensorsError', 'CompareError'])

export interface PreflightProblem {
  /** JSON pointer into the stage's parameters (e.g. `/lora/target_modules`), when one key is at fault. */
  readonly pointer?: string
  readonly message: string
  readonly hint?: string
}

/** What a stage's check found: problems at its parameters, and what waits for a download. */
export interface StageInputs {
  readonly problems: readonly PreflightProblem[]
  /** What could not be checked without downloading, in words. */
  readonly unchecked: readonly string[]
  /** Problems placed in another file already (a sweep stage's sweep file, at its lines). */
  readonly elsewhere?: readonly Diagnostic[]
}

const tagOf = (e: unknown) => (e as { _tag?: string } | null)?._tag
/** An error of the user's input (exit 2), not of the program. */
const isBadInput = (e: unknown) => BAD_INPUT.has(tagOf(e) ?? '')
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!

type Ctx = Parameters<typeof import('../resolve/model.ts').resolveModel>[1] & Parameters<typeof import('../trainer/setup.ts').prepareData>[3]

/** What a stage's check is given besides its parameters: what the stage's own code resolves its inputs with, offline. */
export type CheckContext = Ctx & {
  /** The pipeline's seed, for a stage that sets none. */
  readonly seed: number
  /** A sweep file with these `--set`s, checked as `lorapipe sweep` checks it (its trials are pipelines: the preflight hands itself down). */
  readonly checkSweep: (file: string, sets: readonly string[]) => Promise<readonly Diagnostic[]>
}

/** A built-in stage's check of what it reads (the registry names one per stage). */
export type StageCheck = (params: Record<string, any>, ctx: CheckContext) => Promise<StageInputs>

/** Relative paths from the pipeline's folder; offline: a preflight never downloads. */
export function checkContext(dir: string, seed: number, checkSweep: CheckContext['checkSweep']): CheckContext {
  return { resolvePath: (p: string) => (isAbsolute(p) ? p : resolve(dir, p)), emitSync: () => {}, signal: new AbortController().signal, runtime: {}, offline: true, seed, checkSweep }
}

export const finetuneInputs: StageCheck = (params, ctx) => trainingInputs('finetune', params, ctx)
export const evaluateInputs: StageCheck = (params, ctx) => trainingInputs('evaluate', params, ctx)

/** A sweep stage's sweep file: what `lorapipe sweep` would refuse in it, at the sweep file's lines. */
export const sweepInputs: StageCheck = async (params, ctx) => ({ problems: [], unchecked: [], elsewhere: await ctx.checkSweep(ctx.resolvePath(String(params.sweep)), (params.set as string[] | undefined) ?? []) })

/** finetune and evaluate: the model, the data, the tokenizer, LoRA targets and `lora.init_from`, or the adapter evaluated. */
async function trainingInputs(uses: 'finetune' | 'evaluate', params: Record<string, any>, ctx: CheckContext): Promise<StageInputs> {
  const problems: PreflightProblem[] = []
  const unchecked: string[] = []
  // The model first, without TensorFlow.js: when it is neither local nor cached, the data and
  // the LoRA targets wait for the download, and `validate` stays fast.
  const model = await modelOf(params, ctx, problems, unchecked)
  let config: ModelConfig | undefined
  let task: string | undefined
  if (model) {
    const { modelTask } = await import('../trainer/model-task.ts')
    try {
      const found = await modelTask(params.model ?? {}, model)
      task = found.task
      if (task === 'causal-lm') config = found.config
    } catch (e) {
      if (!isBadInput(e)) throw e
      problems.push({ pointer: /^model\.task\b/.test((e as Error).message) ? '/model/task' : params.model?.path !== undefined ? '/model/path' : '/model', message: firstLine(e) })
      return { problems, unchecked }
    }
  }
  if (model && config && task === 'causal-lm') {
    const metric = params.trainer?.metric_for_best_model as string | undefined
    if (uses === 'finetune' && metric !== undefined && /^(eval_)?(accuracy|f1)$/.test(metric)) {
      problems.push({ pointer: '/trainer/metric_for_best_model', message: `trainer.metric_for_best_model is ${metric}, but a causal LM's evaluation has loss and perplexity only`, hint: 'use `loss` (eval_loss; perplexity is its exp)' })
    }
    // The data read and tokenized as the run will: rows, roles, completions, the chat template,
    // the vocabularies, the shards.
    const [{ prepareCausalLm }, { withDefaults }, { trainerSchema }] = await Promise.all([import('../trainer/causal-lm-setup.ts'), import('@lorapipe/core/schema/validate.ts'), import('@lorapipe/core/pipeline/sections/index.ts')])
    try {
      await prepareCausalLm(params.model ?? {}, params.dataset ?? {}, params.tokenizer, params.trainer ?? withDefaults(trainerSchema, {}), params.seed ?? ctx.seed, ctx, uses === 'finetune' ? 'train+eval' : 'eval', { resolvedModel: model, config })
    } catch (e) {
      if (isBadInput(e)) problems.push(causalLmProblem(e, params, ctx))
      else unchecked.push(`the data is not local or cached (${firstLine(e)}); it is checked when the run downloads it`)
    }
  } else if (model) {
    const { prepareData } = await import('../trainer/setup.ts')
    try {
      config = (await prepareData(params.model ?? {}, params.dataset ?? {}, params.seed ?? ctx.seed, ctx, uses === 'finetune' ? 'train+eval' : 'eval')).config
    } catch (e) {
      if (isBadInput(e)) {
        const pointer = /num_labels/.test((e as Error).message) ? '/model/num_labels' : (dataKeyPointer(e, params.dataset) ?? dataPathPointer(e, params.dataset, ctx.resolvePath))
        problems.push({ message: (e as Error).message, ...(pointer ? { pointer } : {}) })
      } else unchecked.push(`the data is not local or cached (${firstLine(e)}); it is checked when the run downloads it`)
    }
  }
  problems.push(...(await tokenizerInputs(params, model, ctx)))
  if (uses === 'finetune' && params.lora) problems.push(...(await loraInputs(params, model, config, ctx)))
  if (uses === 'evaluate' && typeof params.adapter === 'string') problems.push(...(await adapterInputs(ctx.resolvePath(params.adapter), '/adapter', 'adapter', config)))
  return { problems, unchecked }
}

/** A causal LM's data, tokenizer or model problem, at the key that names what is at fault. */
function causalLmProblem(e: unknown, params: Record<string, any>, ctx: Ctx): PreflightProblem {
  const message = (e as Error).message
  const tokenizerKey = params.tokenizer?.path !== undefined ? '/tokenizer/path' : params.model?.path !== undefined ? '/model/path' : '/model'
  let pointer: string | undefined
  let hint: string | undefined
  if (tagOf(e) === 'ModelSourceError') pointer = params.model?.path !== undefined ? '/model/path' : '/model'
  else if (/has no chat template/.test(message)) {
    pointer = params.tokenizer?.chat_template !== undefined ? '/tokenizer/chat_template' : tokenizerKey
    hint = 'set `tokenizer.chat_template` (a Jinja template), use a tokenizer that has one, or give the data as prompt/completion or text columns'
  } else if (/the padding token/.test(message)) pointer = '/tokenizer/pad_token'
  else if (/vocab_size/.test(message)) pointer = tokenizerKey
  else if (/chat template/.test(message) && params.tokenizer?.chat_template !== undefined) pointer = '/tokenizer/chat_template'
  else pointer = dataKeyPointer(e, params.dataset) ?? dataPathPointer(e, params.dataset, ctx.resolvePath) ?? sftColumnPointer(message)
  return { message, ...(pointer ? { pointer } : {}), ...(hint ? { hint } : {}) }
}

/** A missing SFT column points at its `*_column` key (or `dataset.kind`). */
function sftColumnPointer(message: string): string | undefined {
  const key = /\b(messages_column|prompt_column|completion_column|text_column)\b/.exec(message)?.[1]
  return key ? `/dataset/${key}` : /unknown SFT data kind/.test(message) ? '/dataset/kind' : undefined
}

/** The model's folder or cache entry; a problem or a note on what waits for the download otherwise. */
async function modelOf(params: Record<string, any>, ctx: Ctx, problems: PreflightProblem[], unchecked: string[]): Promise<ResolvedModel | undefined> {
  const { resolveModel } = await import('../resolve/model.ts')
  try {
    return await resolveModel(params.model ?? {}, ctx)
  } catch (e) {
    if (isBadInput(e)) {
      const key = /^model\.(path|config)\b/.exec((e as Error).message)?.[1]
      problems.push({ pointer: key ? `/model/${key}` : '/model', message: firstLine(e) })
    } else {
      const which = params.model?.id ? `model ${params.model.id}` : 'the model'
      unchecked.push(`${which} is not in the Hugging Face cache yet, so it, the data and the LoRA targets are checked when the run downloads it`)
    }
    return undefined
  }
}

/**
 * The folder the stage's tokenizer comes from (`tokenizer.path`, else the model folder) holds
 * one the loader takes. Not loaded: that takes a while, and the vocabulary is checked against the
 * model's when the stage loads it.
 */
async function tokenizerInputs(params: Record<string, any>, model: ResolvedModel | undefined, ctx: Ctx): Promise<PreflightProblem[]> {
  const path = params.tokenizer?.path as string | undefined
  if (!model && path === undefined) return []
  const [{ tokenizerDirOf }, { tokenizerFolderProblem }] = await Promise.all([import('../trainer/setup.ts'), import('../tokenizer/folder.ts')])
  let dir: string
  try {
    dir = path !== undefined ? ctx.resolvePath(path) : tokenizerDirOf(params.tokenizer, model!, ctx)
  } catch (e) {
    return [{ pointer: '/tokenizer', message: firstLine(e) }]
  }
  const problem = tokenizerFolderProblem(dir)
  if (!problem) return []
  if (path !== undefined) return [{ pointer: '/tokenizer/path', message: `tokenizer.path ${problem}`, hint: "name a folder with tokenizer.json, or vocab.txt (with tokenizer_config.json); or leave `tokenizer.path` out to use the model folder's own tokenizer" }]
  return [{ pointer: params.model?.path !== undefined ? '/model/path' : '/model', message: `the model's tokenizer: ${problem}`, hint: 'add the tokenizer files to the model folder, or name a tokenizer folder with `tokenizer.path`' }]
}

/** LoRA targets against the model's modules, from its config alone (no weights are read), and the adapter `lora.init_from` starts from. */
async function loraInputs(params: Record<string, any>, model: ResolvedModel | undefined, config: ModelConfig | undefined, ctx: Ctx): Promise<PreflightProblem[]> {
  const problems: PreflightProblem[] = []
  const [{ readModelConfig }, { modelSpec }, { planLora }, { plannedAdapterLayout }] = await Promise.all([
    import('../models/config.ts'),
    import('../models/families.ts'),
    import('../lora/inject.ts'),
    import('../lora/adapter.ts'),
  ])
  let layout: import('../lora/adapter.ts').AdapterLayout | undefined
  if (model) {
    try {
      // The config with the labels applied when the data check got that far, else the folder's as it is.
      const c = config ?? (await readModelConfig(model.configPath))
      const spec = modelSpec(c)
      const plan = planLora(spec, c.modelType, params.lora)
      // Only with the labels applied is the saved head's shape the run's.
      if (config) layout = plannedAdapterLayout(spec, plan)
    } catch (e) {
      if (tagOf(e) === 'LoraError') problems.push(loraTargetProblem(e, params.lora.target_modules))
      // anything else is a model problem, reported by the data check
    }
  }
  const from = params.lora.init_from
  if (typeof from === 'string') {
    problems.push(
      ...(await adapterFolderInputs(ctx.resolvePath(from), '/lora/init_from', 'lora.init_from', layout, 'train from an adapter made for this model with the same `target_modules`, `r` and labels, or drop `lora.init_from` to start from fresh LoRA weights')),
    )
  }
  return problems
}

function loraTargetProblem(e: unknown, t: unknown): PreflightProblem {
  const reason = (e as { reason: string }).reason
  const key = /^(modules_to_save|layers_to_transform|r)\b/.exec(reason)?.[1] ?? 'target_modules'
  // PEFT reads a string as a regular expression over the whole module path, so `q_lin` alone
  // matches nothing; the user almost always meant a list of names.
  const hint =
    key === 'target_modules' && typeof t === 'string' && t !== 'all-linear'
      ? `a string is a regular expression matched against the whole module path, as in PEFT; to name modules give a list: \`target_modules: [${t.split(/[|,]/).join(', ')}]\` in the file, or \`--set 'lora.target_modules=[${t.split(/[|,]/).join(',')}]'\` on the command line`
      : undefined
  return { pointer: `/lora/${key}`, message: `LoRA: ${reason}`, ...(hint ? { hint } : {}) }
}

/**
 * A saved adapter applied to the model (evaluate's and export's `adapter`): a PEFT folder whose
 * own LoRA config fits the model, and whose tensors fit that config.
 */
async function adapterInputs(dir: string, pointer: string, key: string, config: ModelConfig | undefined): Promise<PreflightProblem[]> {
  const hint = 'name a PEFT adapter folder made for this model (adapter_config.json + adapter_model.safetensors), such as the `adapter` folder of a finetune run'
  const [{ adapterFolderProblem, readAdapterConfig, plannedAdapterLayout }, { modelSpec }, { planLora }] = await Promise.all([import('../lora/adapter.ts'), import('../models/families.ts'), import('../lora/inject.ts')])
  if (adapterFolderProblem(dir) || !config) return adapterFolderInputs(dir, pointer, key, undefined, hint)
  try {
    const spec = modelSpec(config)
    const layout = plannedAdapterLayout(spec, planLora(spec, config.modelType, await readAdapterConfig(dir)))
    return adapterFolderInputs(dir, pointer, key, layout, hint)
  } catch (e) {
    return adapterProblem(e, pointer, key, dir, hint)
  }
}

/** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) whose tensors fit `layout`, when it is known. */
async function adapterFolderInputs(dir: string, pointer: string, key: string, layout: import('../lora/adapter.ts').AdapterLayout | undefined, hint: string): Promise<PreflightProblem[]> {
  const [{ adapterFolderProblem, adapterMismatch, readAdapterConfig, ADAPTER_WEIGHTS }, { readSafetensorsHeader }] = await Promise.all([import('../lora/adapter.ts'), import('../safetensors/read.ts')])
  const problem = adapterFolderProblem(dir)
  if (problem) return [{ pointer, message: `${key} ${dir} ${problem}`, hint }]
  try {
    await readAdapterConfig(dir)
    if (!layout) return []
    const header = await readSafetensorsHeader(join(dir, ADAPTER_WEIGHTS))
    const mismatch = adapterMismatch(layout, [...header.entries].map(([k, t]) => [k, t.shape] as const))
    return mismatch ? [{ pointer, message: `${key} ${dir}: ${mismatch}`, hint }] : []
  } catch (e) {
    return adapterProblem(e, pointer, key, dir, hint)
  }
}

/** A bad adapter folder's error, as a problem at the key that named it; any other error is thrown on. */
function adapterProblem(e: unknown, pointer: string, key: string, dir: string, hint: string): PreflightProblem[] {
  if (!isBadInput(e)) throw e
  return [{ pointer, message: `${key} ${dir}: ${(e as { reason?: string }).reason ?? firstLine(e)}`, hint }]
}

/** export: the base model and the adapter merged into it. */
export const exportInputs: StageCheck = async (params, ctx) => {
  const problems: PreflightProblem[] = []
  const unchecked: string[] = []
  const model = await modelOf(params, ctx, problems, unchecked)
  let config: ModelConfig | undefined
  if (model) {
    const { readModelConfig } = await import('../models/config.ts')
    const m = params.model ?? {}
    try {
      config = await readModelConfig(model.configPath, m.labels ? { labels: m.labels } : m.num_labels !== undefined ? { numLabels: m.num_labels } : {})
    } catch (e) {
      if (!isBadInput(e)) throw e
      problems.push({ pointer: '/model', message: firstLine(e) })
    }
  }
  if (typeof params.adapter === 'string') problems.push(...(await adapterInputs(ctx.resolvePath(params.adapter), '/adapter', 'adapter', config)))
  return { problems, unchecked }
}

/** compare: each run's metrics.json named in the pipeline (those from other stages' outputs exist only once they ran). */
export const compareInputs: StageCheck = async (params, ctx) => {
  const { readMetrics } = await import('../stages/compare.ts')
  const problems: PreflightProblem[] = []
  for (const [method, file] of Object.entries((params.runs ?? {}) as Record<string, unknown>)) {
    if (typeof file !== 'string') continue
    try {
      readMetrics(ctx.resolvePath(file), method)
    } catch (e) {
      if (!isBadInput(e)) throw e
      problems.push({ pointer: `/runs/${escapeKey(method)}`, message: (e as Error).message, hint: "name a run's metrics.json, or `${stages.<id>.outputs.metrics}` of a stage of this pipeline" })
    }
  }
  return { problems, unchecked: [] }
}

/** A problem with the backend or BLAS asked for: the pipeline key, or the environment variable, it came from. */
export interface RuntimeProblem {
  /** `runtime.blas`, `runtime.backend`, `LORAPIPE_BLAS` or `LORAPIPE_BACKEND` */
  readonly setting: string
  /** The value as given. */
  readonly value: string
  readonly message: string
  readonly hint: string
}

/**
 * The backend and BLAS a run asks for (`runtime.backend` / LORAPIPE_BACKEND, `runtime.blas` /
 * LORAPIPE_BLAS), checked without TensorFlow.js: an unknown backend or a native one not installed,
 * and a named BLAS library that does not load (loaded here exactly as the run loads it, and kept
 * for it; `auto` never fails: without a library the wasm kernels run).
 */
export function preflightRuntime(runtime: { readonly backend?: string; readonly blas?: string; readonly threads?: number }, env: Record<string, string | undefined> = process.env): RuntimeProblem[] {
  const problems: RuntimeProblem[] = []
  const backend = backendProblem(runtime.backend, env)
  if (backend) problems.push({ setting: backend.source === 'env' ? 'LORAPIPE_BACKEND' : 'runtime.backend', value: backend.requested, message: backend.message, hint: backend.hint })
  // The BLAS serves the wasm backend only.
  const req = backendRequest(runtime.backend, env)
  if ('name' in req && (req.name === 'wasm' || req.name === 'auto')) {
    const threads = runtime.threads !== undefined ? Math.max(1, Math.floor(runtime.threads)) : machineThreads(env)
    const wanted = blasRequest({ blas: runtime.blas, env }).value.toLowerCase()
    if (wanted !== 'auto' && wanted !== 'off') {
      const r = resolveBlas({ blas: runtime.blas, env, threads })
      if (!r.ok) problems.push({ setting: r.source === 'env' ? 'LORAPIPE_BLAS' : 'runtime.blas', value: r.requested, message: r.message, hint: r.hint })
    }
  }
  return problems
}

/** A missing column points at the `*_column` key, a missing hub split at its `split` key. */
function dataKeyPointer(e: unknown, dataset: Record<string, any> | undefined): string | undefined {
  if (tagOf(e) === 'DatasetSplitNotFoundError') {
    const s = (['train', 'eval'] as const).find((k) => dataset?.[k]?.split === (e as { split?: string }).split)
    return s ? `/dataset/${s}/split` : undefined
  }
  const column = /\b(text_column|label_column|text_pair_column) "[^"]*" is not a column\b/.exec(String((e as Error).message))?.[1]
  return column ? `/dataset/${column}` : undefined
}

/** A data file's error points at the `path` key that named the file (`dataset.train.path`, ...). */
function dataPathPointer(e: unknown, dataset: Record<string, any> | undefined, resolvePath: (p: string) => string): string | undefined {
  const file = tagOf(e) === 'DatasetError' ? (e as { file?: string }).file : undefined
  if (!file || !dataset) return undefined
  for (const split of ['train', 'eval'] as const) {
    const p = dataset[split]?.path
    if (typeof p === 'string' && resolvePath(p) === resolve(file)) return `/dataset/${split}/path`
  }
  return undefined
}
