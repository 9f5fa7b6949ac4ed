// The `export` stage and `lorapipe export`: a model folder transformers loads. With `merge: true`
// (default) the adapter is folded into the base weights (PEFT's merge_and_unload +
// save_pretrained) and `dir` is that folder; with `merge: false` `dir` holds `model/` (the base
// model) and `adapter/` (a copy of the adapter) side by side, for PeftModel.from_pretrained.
// Tokenizer files are copied along. Everything is written into a temporary folder first and
// renamed into place, so an interrupted export never leaves a folder that looks complete.
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type * as Effect from 'effect/Effect'
import type { StageContext } from '@lorapipe/core'
import type { ModelSection } from '@lorapipe/core/pipeline/sections/index.ts'
import type { ExportParams } from '@lorapipe/core/stage/builtins.ts'
import { loadAdapter } from '../lora/adapter.ts'
import { saveMergedModel } from '../lora/merge.ts'
import { createRandomCausalLm, createRandomModel, loadCausalLm, loadPretrained, saveModel } from '../models/load.ts'
import { modelTask } from '../trainer/model-task.ts'
import { readModelConfig } from '../models/config.ts'
import { resolveModel } from '../resolve/index.ts'
import { interruptible } from '../trainer/interruptible.ts'
import { useBackend } from '../trainer/setup.ts'

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json', 'chat_template.jinja', 'generation_config.json']

type Ctx = Pick<StageContext, 'resolvePath' | 'emitSync' | 'signal' | 'runtime'>

export interface ExportInput {
  /** The base model, as the fine-tuning run named it. */
  readonly model: ModelSection
  /** The PEFT adapter folder (absolute). */
  readonly adapter: string
  readonly merge: boolean
  /** The seed a random-init base was built with (the run's). */
  readonly seed: number
  /** Where the tokenizer files are, when not in the model folder (the run's `tokenizer.path`). */
  readonly tokenizerDir?: string
}

/** A folder name beside `target` for writing it before it is renamed into place. */
export const tempBeside = (target: string) => join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)

/**
 * Writes the export into the new folder `into`: merged, a Hugging Face model folder (config.json,
 * model.safetensors, tokenizer files); not merged, `model/` and `adapter/`. The backend must be chosen.
 */
export async function writeExport(input: ExportInput, ctx: Ctx, into: string): Promise<void> {
  const resolved = await resolveModel(input.model, ctx)
  const overrides = input.model.labels ? { labels: input.model.labels } : input.model.num_labels !== undefined ? { numLabels: input.model.num_labels } : {}
  // A random-init base is rebuilt from the same config and seed as the fine-tuning run built it;
  // the task (a classifier or a causal LM) is the model's, as the fine-tuning run took it.
  const { task, config } = await modelTask(input.model, resolved)
  const random = resolved.init === 'random'
  const model =
    task === 'causal-lm'
      ? random
        ? createRandomCausalLm(config, { seed: input.seed })
        : (await loadCausalLm(resolved.dir!, { seed: input.seed })).model
      : random
        ? createRandomModel(await readModelConfig(resolved.configPath, overrides), { seed: input.seed })
        : (await loadPretrained(resolved.dir!, { ...overrides, seed: input.seed, ignoreMismatchedSizes: true })).model
  try {
    const lora = await loadAdapter(model, input.adapter)
    const modelDir = input.merge ? into : join(into, 'model')
    if (input.merge) await saveMergedModel(lora, modelDir)
    else {
      await saveModel(model, modelDir)
      cpSync(input.adapter, join(into, 'adapter'), { recursive: true })
    }
    const tokenizerDir = input.tokenizerDir ?? resolved.dir
    if (tokenizerDir) for (const f of TOKENIZER_FILES) if (existsSync(join(tokenizerDir, f))) cpSync(join(tokenizerDir, f), join(modelDir, f))
  } finally {
    model.dispose()
  }
}

export async function runExport(params: ExportParams, ctx: StageContext): Promise<{ dir: string }> {
  await useBackend(ctx)
  const adapter = ctx.resolvePath(params.adapter)
  const merge = params.merge
  const target = merge ? join(ctx.dir, 'model') : ctx.dir
  const tmp = join(ctx.dir, `.export.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await writeExport({ model: params.model, adapter, merge, seed: ctx.seed }, ctx, tmp)
    if (merge) {
      rmSync(target, { recursive: true, force: true })
      renameSync(tmp, target)
    } else {
      for (const sub of ['model', 'adapter']) {
        rmSync(join(target, sub), { recursive: true, force: true })
        renameSync(join(tmp, sub), join(target, sub))
      }
      rmSync(tmp, { recursive: true, force: true })
    }
    ctx.emitSync({ _tag: 'Log', level: 'info', message: merge ? `merged ${adapter} into the base model: ${target}` : `base model and adapter written to ${target}` })
    return { dir: target }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
}

export function exportStage(params: ExportParams, ctx: StageContext): Effect.Effect<{ dir: string }, unknown> {
  return interruptible(() => runExport(params, ctx), ctx.signal)
}
