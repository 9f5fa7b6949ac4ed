// The `finetune` stage: builds the model (pretrained or random), attaches LoRA (or trains every
// weight when `lora: null`), tokenizes the data, checks the labels, trains, and writes the run
// folder: manifest.json, metrics.json, adapter/ (PEFT) or model/ (transformers), checkpoints/.
// Run again on the same folder, it continues from the last complete checkpoint. The task (a
// sequence classifier, or a causal LM trained on SFT data) is `model.task`, else the model's.
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import * as Data from 'effect/Data'
import type * as Effect from 'effect/Effect'
import { writeJsonAtomic, type RunMetrics, type StageContext } from '@lorapipe/core'
import type { FinetuneParams } from '@lorapipe/core/stage/builtins.ts'
import type { LoraSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { deriveSeed } from '../data/rng.ts'
import { formatParameterCount, injectLora, type LoraModel } from '../lora/inject.ts'
import { initFromAdapter, saveAdapter } from '../lora/adapter.ts'
import { saveModel } from '../models/load.ts'
import { createRandomCausalLm, loadCausalLm } from '../models/load.ts'
import type { PretrainedModel } from '../models/model.ts'
import type { ModelTask } from '../models/family.ts'
import { resolveModel, type ResolvedDataset, type ResolvedModel } from '../resolve/index.ts'
import { causalLmTask } from '../trainer/causal-lm-task.ts'
import { describeSftData, prepareCausalLm } from '../trainer/causal-lm-setup.ts'
import { modelTask } from '../trainer/model-task.ts'
import { classifierTask, type TrainTask } from '../trainer/task.ts'
import { listCheckpoints } from '../trainer/checkpoint.ts'
import { interruptible } from '../trainer/interruptible.ts'
import { train, type TrainResult } from '../trainer/loop.ts'
import { lorapipeVersion, sha256File, tfjsVersion, weightFiles, type Manifest } from '../trainer/manifest.ts'
import { changedInputs } from '../trainer/resume-inputs.ts'
import { trainingPlan } from '../trainer/schedule.ts'
import { buildModel, prepare, useBackend } from '../trainer/setup.ts'

export class FinetuneError extends Data.TaggedError('FinetuneError')<{ readonly message: string }> {}

export interface FinetuneOutputs {
  readonly [k: string]: string | null
  readonly dir: string
  readonly metrics: string
  readonly adapter_dir: string | null
  readonly model_dir: string | null
}

/** Stream of the LoRA initialisation, apart from data order and dropout. */
const LORA_INIT_STREAM = 0x10ba

/** Replaces `target` with a folder written by `write` into a temporary sibling (atomic on one file system). */
async function writeFolderAtomic(target: string, write: (dir: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await write(tmp)
    rmSync(target, { recursive: true, force: true })
    renameSync(tmp, target)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json', 'chat_template.jinja', 'generation_config.json']

function attachLora(model: PretrainedModel, l: LoraSection, seed: number): LoraModel<PretrainedModel> {
  return injectLora(model, l, { seed: deriveSeed(seed, LORA_INIT_STREAM) })
}

/** What a task's preparation gives the stage: the model, the data, and the training task over them. */
export interface PreparedJob {
  readonly task: ModelTask
  readonly resolvedModel: ResolvedModel
  readonly resolvedData: ResolvedDataset
  readonly tokenizerDir: string
  /** Rows read per split, for the manifest. */
  readonly rows: { readonly train?: number; readonly eval?: number }
  readonly model: PretrainedModel
  readonly trainTask: TrainTask
}

/** The causal LM's data, model and task; the row and token counts told at the start. */
async function causalLmJob(params: FinetuneParams, resolvedModel: ResolvedModel, config: import('../models/config.ts').ModelConfig, seed: number, ctx: StageContext): Promise<PreparedJob> {
  const p = await prepareCausalLm(params.model, params.dataset, params.tokenizer, params.trainer, seed, ctx, 'train+eval', { resolvedModel, config })
  for (const message of describeSftData(p)) ctx.emitSync({ _tag: 'Log', level: 'info', message })
  if (params.trainer.gradient_checkpointing) ctx.emitSync({ _tag: 'Log', level: 'info', message: 'gradient checkpointing: each decoder layer is recomputed in the backward pass (its activations are not kept)' })
  let model
  if (resolvedModel.init === 'random') {
    ctx.emitSync({ _tag: 'Log', level: 'info', message: `model: ${config.modelType} built from ${resolvedModel.configPath} with random weights (seed ${seed})` })
    model = createRandomCausalLm(config, { seed })
  } else {
    const loaded = await loadCausalLm(resolvedModel.dir!, { seed })
    for (const w of loaded.report.warnings) ctx.emitSync({ _tag: 'Log', level: 'warn', message: w })
    model = loaded.model
  }
  return {
    task: 'causal-lm',
    resolvedModel,
    resolvedData: p.resolvedData,
    tokenizerDir: p.tokenizerDir,
    rows: { train: p.train?.stats.rows, eval: p.eval?.stats.rows },
    model,
    trainTask: causalLmTask(model, p.train!.sequences, p.eval?.sequences, p.padId, params.trainer.gradient_checkpointing),
  }
}

/** The classifier's data, model and task, exactly as before tasks. */
async function classifierJob(params: FinetuneParams, resolvedModel: ResolvedModel, seed: number, ctx: StageContext): Promise<PreparedJob> {
  const p = await prepare(params.model, params.dataset, params.tokenizer, seed, ctx, 'train+eval', resolvedModel)
  const model = await buildModel(p, seed, ctx)
  return {
    task: 'sequence-classification',
    resolvedModel,
    resolvedData: p.resolvedData,
    tokenizerDir: p.tokenizerDir,
    rows: { train: p.data.train?.rows.length, eval: p.data.eval?.rows.length },
    model,
    trainTask: classifierTask(model, p.train!, p.eval, p.tokenizer),
  }
}

export async function runFinetune(params: FinetuneParams, ctx: StageContext, signal: AbortSignal = ctx.signal): Promise<FinetuneOutputs> {
  const seed = params.seed ?? ctx.seed
  const t = params.trainer
  const backend = await useBackend(ctx)
  const resolvedModel = await resolveModel(params.model, ctx)
  const { task, config } = await modelTask(params.model, resolvedModel)
  const p = task === 'causal-lm' ? await causalLmJob(params, resolvedModel, config, seed, ctx) : await classifierJob(params, resolvedModel, seed, ctx)
  const { plan, warmup } = trainingPlan(p.trainTask.size, t)

  const model = p.model
  try {
    let lora: LoraModel | null = null
    if (params.lora) {
      lora = attachLora(model, params.lora, seed)
      if (params.lora.init_from !== undefined) {
        const from = ctx.resolvePath(params.lora.init_from)
        const report = await initFromAdapter(lora, from)
        ctx.emitSync({ _tag: 'Log', level: 'info', message: `LoRA weights initialised from ${from} (${report.loaded.length} tensors)` })
      }
    } else {
      model.setTrainable(() => true)
    }
    const count = model.countParameters()
    const line = formatParameterCount(count)
    const method = lora ? 'lora' : 'full'
    ctx.emitSync({ _tag: 'Log', level: 'info', message: line })

    // manifest.json: written before training; a resumed run keeps the original and notes the resume.
    const manifestFile = join(ctx.dir, 'manifest.json')
    const resumeStep = listCheckpoints(join(ctx.dir, 'checkpoints')).at(-1)?.step
    const previous: Manifest | undefined = resumeStep !== undefined && existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : undefined
    const changed = previous ? await changedInputs(previous) : []
    if (changed.length > 0) throw new FinetuneError({ message: `cannot resume: ${changed.join('; ')}. A resumed run trains on the data and model it started with: put the files back as they were, or start a new run with --out <new folder>` })
    const manifest: Manifest = previous
      ? { ...previous, resumed: [...(previous.resumed ?? []), { time: new Date().toISOString(), fromStep: resumeStep! }] }
      : {
          lorapipe: lorapipeVersion(),
          node: process.version,
          tfjs: tfjsVersion(),
          backend: { name: backend.name, threads: backend.threads, reason: backend.reason },
          seed,
          created: new Date().toISOString(),
          model: {
            source: p.resolvedModel.source,
            revision: params.model.path === undefined ? params.model.revision : undefined,
            commit: p.resolvedModel.commit,
            init: p.resolvedModel.init,
            architecture: model.name,
            weights: p.resolvedModel.init === 'pretrained' && p.resolvedModel.dir ? await Promise.all(weightFiles(p.resolvedModel.dir).map(sha256File)) : [],
          },
          adapter_init: params.lora?.init_from !== undefined ? ctx.resolvePath(params.lora.init_from) : undefined,
          dataset: {
            splits: await Promise.all(
              p.resolvedData.sources.map(async (s) => ({
                split: s.split,
                source: s.source,
                examples: (s.split === 'train' ? p.rows.train : p.rows.eval) ?? 0,
                files: await Promise.all(s.files.map(sha256File)),
              })),
            ),
          },
          parameters: { method, trainable: count.trainable, total: count.total, line },
          steps: { total: plan.totalSteps, per_epoch: plan.updatesPerEpoch, warmup },
        }
    writeJsonAtomic(manifestFile, manifest)

    const result = await train({
      task: p.trainTask,
      trainer: t,
      seed,
      dir: ctx.dir,
      signal,
      onEvent: ctx.emitSync,
    })

    let adapterDir: string | null = null
    let modelDir: string | null = null
    if (lora) {
      adapterDir = join(ctx.dir, 'adapter')
      // What was actually loaded, so PEFT's AutoPeftModel (and `lorapipe predict --adapter`) load
      // the same base: the folder when `model.path` is given (it wins over `id`), else the hub id.
      const base = params.model.path !== undefined ? p.resolvedModel.dir ?? null : params.model.id ?? p.resolvedModel.dir ?? null
      await writeFolderAtomic(adapterDir, (d) => saveAdapter(lora, d, { baseModelNameOrPath: base }))
    } else {
      modelDir = join(ctx.dir, 'model')
      await writeFolderAtomic(modelDir, async (d) => {
        await saveModel(model, d)
        for (const f of TOKENIZER_FILES) if (existsSync(join(p.tokenizerDir, f))) cpSync(join(p.tokenizerDir, f), join(d, f))
      })
    }
    const metricsFile = join(ctx.dir, 'metrics.json')
    writeJsonAtomic(metricsFile, runMetrics(method, count, result))
    ctx.emitSync({ _tag: 'Log', level: 'info', message: `finished ${result.steps} steps${result.stoppedEarly ? ' (early stopping)' : ''}; ${lora ? `adapter in ${adapterDir}` : `model in ${modelDir}`}` })
    return { dir: ctx.dir, metrics: metricsFile, adapter_dir: adapterDir, model_dir: modelDir }
  } finally {
    model.dispose()
  }
}

/** metrics.json (RunMetrics) from a training result. Without an eval split, `eval` holds NaN (null in JSON). */
export function runMetrics(method: string, count: { trainable: number; total: number }, r: TrainResult): RunMetrics {
  const none = { step: r.steps, epoch: r.epoch, loss: Number.NaN, accuracy: Number.NaN, f1: Number.NaN, runtime_s: 0, samples_per_s: 0 }
  return {
    method,
    trainable_params: count.trainable,
    total_params: count.total,
    train: {
      runtime_s: r.trainRuntime,
      samples_per_s: r.trainSamples / Math.max(r.trainRuntime, 1e-9),
      steps: r.steps,
      epochs: r.epoch,
      loss: r.trainLoss,
      ...(r.trainTokens !== undefined ? { tokens_per_s: r.trainTokens / Math.max(r.trainRuntime, 1e-9) } : {}),
    },
    eval: r.eval ?? none,
    ...(r.best ? { best: r.best } : {}),
    history: r.history,
  }
}

/** The stage body for the executor: interruption aborts training between steps. */
export function finetuneStage(params: FinetuneParams, ctx: StageContext): Effect.Effect<FinetuneOutputs, unknown> {
  return interruptible((signal) => runFinetune(params, ctx, signal), ctx.signal)
}
