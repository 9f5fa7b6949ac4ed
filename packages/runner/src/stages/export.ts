// The `export` stage: a model folder transformers loads. With `merge: true` (default) the adapter
// is folded into the base weights (PEFT's merge_and_unload + save_pretrained) and `dir` is that
// folder; with `merge: false` `dir` holds `model/` (the base model) and `adapter/` (a copy of the
// adapter) side by side, for PeftModel.from_pretrained. Tokenizer files are copied along.
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type * as Effect from 'effect/Effect'
import type { StageContext } from '@lorapipe/core'
import type { ExportParams } from '@lorapipe/core/stage/builtins.ts'
import { loadAdapter } from '../lora/adapter.ts'
import { saveMergedModel } from '../lora/merge.ts'
import { createRandomModel, loadPretrained, saveModel } from '../models/load.ts'
import { readModelConfig } from '../models/config.ts'
import { resolveModel } from '../resolve/index.ts'
import { interruptible } from '../trainer/interruptible.ts'
import { useBackend } from '../trainer/setup.ts'

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json']

export async function runExport(params: ExportParams, ctx: StageContext): Promise<{ dir: string }> {
  await useBackend(ctx)
  const resolved = await resolveModel(params.model, ctx)
  const overrides = params.model.labels ? { labels: params.model.labels } : params.model.num_labels !== undefined ? { numLabels: params.model.num_labels } : {}
  // A random-init base is rebuilt from the same config and seed as the fine-tuning run built it.
  const model =
    resolved.init === 'random'
      ? createRandomModel(await readModelConfig(resolved.configPath, overrides), { seed: ctx.seed })
      : (await loadPretrained(resolved.dir!, { ...overrides, seed: ctx.seed, ignoreMismatchedSizes: true })).model
  const adapter = ctx.resolvePath(params.adapter)
  const merge = params.merge
  const target = merge ? join(ctx.dir, 'model') : ctx.dir
  const tmp = join(ctx.dir, `.export.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    const lora = await loadAdapter(model, adapter)
    const modelDir = merge ? tmp : join(tmp, 'model')
    if (merge) await saveMergedModel(lora, modelDir)
    else {
      await saveModel(model, modelDir)
      cpSync(adapter, join(tmp, 'adapter'), { recursive: true })
    }
    if (resolved.dir) for (const f of TOKENIZER_FILES) if (existsSync(join(resolved.dir, f))) cpSync(join(resolved.dir, f), join(modelDir, f))
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
  } finally {
    model.dispose()
  }
}

export function exportStage(params: ExportParams, ctx: StageContext): Effect.Effect<{ dir: string }, unknown> {
  return interruptible(() => runExport(params, ctx), ctx.signal)
}
