// The `evaluate` stage: a model (optionally with a PEFT adapter) on the dataset's eval split;
// writes metrics.json in the RunMetrics shape (loss, accuracy, F1, runtime, samples/s; a causal
// LM: loss over all labelled tokens, perplexity, tokens/s) so that `compare` can rank it beside
// fine-tuning runs.
import { join } from 'node:path'
import type * as Effect from 'effect/Effect'
import { writeJsonAtomic, type EvalRecord, type RunMetrics, type StageContext } from '@lorapipe/core'
import type { EvaluateParams } from '@lorapipe/core/stage/builtins.ts'
import { loadAdapter } from '../lora/adapter.ts'
import { evaluateSplit } from '../trainer/evaluate.ts'
import { interruptible } from '../trainer/interruptible.ts'
import { buildModel, prepare, useBackend } from '../trainer/setup.ts'
import { createRandomCausalLm, loadCausalLm } from '../models/load.ts'
import type { ModelConfig } from '../models/config.ts'
import { resolveModel, type ResolvedModel } from '../resolve/index.ts'
import { describeSftData, prepareCausalLm } from '../trainer/causal-lm-setup.ts'
import { evaluateCausalLm } from '../trainer/evaluate-causal-lm.ts'
import { evalFigures } from '../trainer/loop.ts'
import { modelTask } from '../trainer/model-task.ts'
import { trainerSchema } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'

export async function runEvaluate(params: EvaluateParams, ctx: StageContext): Promise<{ metrics: string }> {
  await useBackend(ctx)
  const resolvedModel = await resolveModel(params.model, ctx)
  const { task, config } = await modelTask(params.model, resolvedModel)
  if (task === 'causal-lm') return evaluateCausalLmStage(params, ctx, resolvedModel, config)
  const p = await prepare(params.model, params.dataset, params.tokenizer, ctx.seed, ctx, 'eval', resolvedModel)
  const model = await buildModel(p, ctx.seed, ctx)
  try {
    let method = 'base'
    if (params.adapter) {
      const dir = ctx.resolvePath(params.adapter)
      await loadAdapter(model, dir)
      method = 'lora'
      ctx.emitSync({ _tag: 'Log', level: 'info', message: `adapter ${dir} applied` })
    }
    const r = evaluateSplit(model, p.eval!, p.tokenizer, params.batch_size)
    const record: EvalRecord = { step: 0, epoch: 0, loss: r.loss, accuracy: r.accuracy, f1: r.f1, runtime_s: r.runtime_s, samples_per_s: r.samples_per_s }
    ctx.emitSync({ _tag: 'EvalMetrics', step: 0, epoch: 0, metrics: { loss: r.loss, accuracy: r.accuracy, f1: r.f1, runtime_s: r.runtime_s, samples_per_s: r.samples_per_s } })
    return { metrics: writeEvalMetrics(ctx.dir, method, model.countParameters().total, record) }
  } finally {
    model.dispose()
  }
}

/** The stage's metrics.json: one evaluation, nothing trained. */
function writeEvalMetrics(dir: string, method: string, totalParams: number, record: EvalRecord): string {
  const metrics: RunMetrics = {
    method,
    trainable_params: 0,
    total_params: totalParams,
    train: { runtime_s: 0, samples_per_s: 0, steps: 0, epochs: 0 },
    eval: record,
    history: { train: [], eval: [record] },
  }
  const file = join(dir, 'metrics.json')
  writeJsonAtomic(file, metrics)
  return file
}

export function evaluateStage(params: EvaluateParams, ctx: StageContext): Effect.Effect<{ metrics: string }, unknown> {
  return interruptible(() => runEvaluate(params, ctx), ctx.signal)
}

/** A causal LM on the eval split's SFT data: the loss over all its labelled tokens, perplexity, tokens/s. */
async function evaluateCausalLmStage(params: EvaluateParams, ctx: StageContext, resolvedModel: ResolvedModel, config: ModelConfig): Promise<{ metrics: string }> {
  // SFT data is tokenized as a finetune stage with the trainer's defaults would (completions only).
  const p = await prepareCausalLm(params.model, params.dataset, params.tokenizer, withDefaults(trainerSchema, {}), ctx.seed, ctx, 'eval', { resolvedModel, config })
  for (const message of describeSftData(p)) ctx.emitSync({ _tag: 'Log', level: 'info', message })
  const model = resolvedModel.init === 'random' ? createRandomCausalLm(config, { seed: ctx.seed }) : (await loadCausalLm(resolvedModel.dir!, { seed: ctx.seed })).model
  try {
    let method = 'base'
    if (params.adapter) {
      const dir = ctx.resolvePath(params.adapter)
      await loadAdapter(model, dir)
      method = 'lora'
      ctx.emitSync({ _tag: 'Log', level: 'info', message: `adapter ${dir} applied` })
    }
    const r = evaluateCausalLm(model, p.eval!.sequences, { batchSize: params.batch_size, padId: p.padId })
    const record: EvalRecord = { step: 0, epoch: 0, loss: r.loss, perplexity: r.perplexity, runtime_s: r.runtime_s, samples_per_s: r.samples_per_s, tokens_per_s: r.tokens_per_s }
    ctx.emitSync({ _tag: 'EvalMetrics', step: 0, epoch: 0, metrics: evalFigures(record) })
    ctx.emitSync({ _tag: 'Log', level: 'info', message: `eval loss ${r.loss.toFixed(6)} over ${r.tokens.toLocaleString('en-US')} labelled tokens, perplexity ${r.perplexity.toFixed(4)}` })
    return { metrics: writeEvalMetrics(ctx.dir, method, model.countParameters().total, record) }
  } finally {
    model.dispose()
  }
}
