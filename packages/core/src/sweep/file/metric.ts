// `metric: {name, goal, target}` -> the stage and key a trial's evaluations report it under. Names
// are Hugging Face Trainer's (`eval_loss`, `eval_accuracy`, `eval_f1`): the `eval` record of
// `metrics.json` with an `eval_` prefix, and the `metrics` of every EvalMetrics event without it.
// A multi-stage base names the stage (`lora.eval_accuracy`) unless only one of its stages evaluates.
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import { isModuleRef } from '../../pipeline/load.ts'
import { closest, didYouMean } from '../../suggest.ts'
import type { Goal } from '../model.ts'
import { EVAL_METRICS, type EvalMetricKey, METRIC_NAMES } from './schema.ts'
import type { SweepMetric } from './types.ts'

/** Built-in stages that report evaluations (EvalMetrics); custom modules may, so they are allowed too. */
const EVALUATING_BUILTINS = ['finetune', 'evaluate']

export type MetricProblem = { readonly message: string; readonly hint?: string }

export function resolveMetric(raw: { name: string; goal?: Goal; target?: number }, base: ValidatedPipeline): SweepMetric | MetricProblem {
  const dot = raw.name.lastIndexOf('.')
  const stageName = dot >= 0 ? raw.name.slice(0, dot) : undefined
  const metricName = dot >= 0 ? raw.name.slice(dot + 1) : raw.name
  if (!(METRIC_NAMES as string[]).includes(metricName)) {
    // W&B logs Trainer metrics as `eval/accuracy`; other tools say `accuracy` or `val_accuracy`.
    const plain = metricName.replace(/^(eval|val|validation)[/_]/, '')
    const near = (EVAL_METRICS as readonly string[]).includes(plain) ? `eval_${plain}` : (METRIC_NAMES.find((n) => n.startsWith(metricName)) ?? closest(metricName, METRIC_NAMES))
    return {
      message: `unknown metric \`${metricName}\``,
      hint: near ? `did you mean \`${stageName ? `${stageName}.` : ''}${near}\`?` : `metrics: ${METRIC_NAMES.join(', ')}`,
    }
  }
  const key = metricName.slice('eval_'.length) as EvalMetricKey
  const evaluating = [...base.stages.values()].filter((s) => EVALUATING_BUILTINS.includes(s.uses) || isModuleRef(s.uses)).map((s) => s.id)
  let stage: string
  if (stageName === undefined) {
    if (evaluating.length !== 1) {
      return {
        message: `the base pipeline has ${evaluating.length === 0 ? 'no stage that evaluates' : `several stages that evaluate (${evaluating.join(', ')})`}; the metric must name one`,
        hint: evaluating.length ? `e.g. \`${evaluating[0]}.${metricName}\`` : 'the base needs a `finetune` or `evaluate` stage',
      }
    }
    stage = evaluating[0]!
  } else {
    const node = base.stages.get(stageName)
    if (base.shortForm) return { message: `the base pipeline is a single job without stages; the metric is just \`${metricName}\``, hint: `metric: {name: ${metricName}}` }
    if (!node) return { message: `the base pipeline has no stage \`${stageName}\``, hint: didYouMean(stageName, base.stages.keys()) ?? `its stages: ${[...base.stages.keys()].join(', ')}` }
    if (!evaluating.includes(stageName)) {
      return {
        message: `stage \`${stageName}\` (${node.uses}) reports no evaluations, so it has no \`${metricName}\``,
        hint: evaluating.length ? `stages that evaluate: ${evaluating.join(', ')}` : undefined,
      }
    }
    stage = stageName
  }
  const goal: Goal = raw.goal ?? (key === 'loss' ? 'minimize' : 'maximize')
  return { name: raw.name, stage, key, goal, ...(raw.target !== undefined ? { target: raw.target } : {}) }
}
