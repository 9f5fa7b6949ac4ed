// The `evaluate` stage: a model (optionally with a PEFT adapter) on the dataset's eval split;
// writes metrics.json in the RunMetrics shape (loss, accuracy, F1, runtime, samples/s) so that
// `compare` can rank it beside fine-tuning runs.
import { join } from 'node:path'
import type * as Effect from 'effect/Effect'
import { writeJsonAtomic, type EvalRecord, type RunMetrics, type StageContext } from '@lorapipe/core'
import type { EvaluateParams } from '@lorapipe/core/stage/builtins.ts'
import { loadAdapter } from '../lora/adapter.ts'
import { evaluateSplit } from '../trainer/evaluate.ts'
import { interruptible } from '../trainer/interruptible.ts'
import { buildModel, prepare, useBackend } from '../trainer/setup.ts'

export async function runEvaluate(params: EvaluateParams, ctx: StageContext): Promise<{ metrics: string }> {
  await useBackend(ctx)
  const p = await prepare(params.model, params.dataset, params.tokenizer, ctx.seed, ctx, 'eval')
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
    const count = model.countParameters()
    const metrics: RunMetrics = {
      method,
      trainable_params: 0,
      total_params: count.total,
      train: { runtime_s: 0, samples_per_s: 0, steps: 0, epochs: 0 },
      eval: record,
      history: { train: [], eval: [record] },
    }
    const file = join(ctx.dir, 'metrics.json')
    writeJsonAtomic(file, metrics)
    return { metrics: file }
  } finally {
    model.dispose()
  }
}

export function evaluateStage(params: EvaluateParams, ctx: StageContext): Effect.Effect<{ metrics: string }, unknown> {
  return interruptible(() => runEvaluate(params, ctx), ctx.signal)
}
