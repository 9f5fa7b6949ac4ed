// The built-in stages' specs. Their implementations need TensorFlow.js and live in
// @lorapipe/runner; core only knows their parameters and outputs, which is all that validation,
// planning and the editor schema need. Each spec is a literal, so that the runner's stage body
// takes its parameters' decoded type.
import { jobProperties } from '../pipeline/sections/index.ts'
import { PATH, type Decoded } from '../schema/json-schema.ts'
import type { ParamProblem, StageSpec } from './spec.ts'

const seed = { type: 'integer', minimum: 0, description: 'Seed of this stage; defaults to the pipeline seed.' } as const

export const finetuneSpec = {
  name: 'finetune',
  description: 'Fine-tune a model, with LoRA or in full, evaluating as it goes.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['model', 'lora', 'dataset', 'trainer'],
    properties: { ...jobProperties, seed },
  },
  outputs: ['dir', 'metrics', 'adapter_dir', 'model_dir'],
  defaults: ['model', 'lora', 'dataset', 'tokenizer', 'trainer'],
  resource: 'compute',
  check: (p) => [...checkModel(p.model), ...checkDataset(p.dataset, true), ...checkLabels(p.model, p.dataset)],
} as const satisfies StageSpec
export type FinetuneParams = Decoded<typeof finetuneSpec.params>

export const evaluateSpec = {
  name: 'evaluate',
  description: 'Evaluate a model (optionally with an adapter) on a dataset split.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['model', 'dataset'],
    properties: {
      model: jobProperties.model,
      adapter: { type: ['string', 'null'], description: 'PEFT adapter folder to apply.' },
      dataset: jobProperties.dataset,
      tokenizer: jobProperties.tokenizer,
      batch_size: { type: 'integer', minimum: 1, default: 32 },
    },
  },
  outputs: ['metrics'],
  defaults: ['model', 'dataset', 'tokenizer'],
  resource: 'compute',
  check: (p) => [...checkModel(p.model), ...checkDataset(p.dataset, false), ...checkLabels(p.model, p.dataset)],
} as const satisfies StageSpec
export type EvaluateParams = Decoded<typeof evaluateSpec.params>

export const compareSpec = {
  name: 'compare',
  description: 'Tabulate the metrics of several runs side by side (the seed\'s LoRA vs full fine-tuning table).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['runs'],
    properties: {
      runs: {
        type: 'object',
        minProperties: 1,
        additionalProperties: { type: 'string' },
        description: 'Method name -> its `metrics.json` (usually `${stages.<id>.outputs.metrics}`).',
      },
      metric: { type: 'string', default: 'accuracy', description: 'Metric that ranks the methods.' },
    },
  },
  outputs: ['json', 'markdown'],
} as const satisfies StageSpec
export type CompareParams = Decoded<typeof compareSpec.params>

export const exportSpec = {
  name: 'export',
  description: 'Write a model folder loadable by transformers, optionally merging a LoRA adapter into it.',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['model', 'adapter'],
    properties: {
      model: jobProperties.model,
      adapter: { type: 'string', description: 'PEFT adapter folder.' },
      merge: { type: 'boolean', default: true, description: 'Merge W + scaling * B A into the base weights.' },
    },
  },
  outputs: ['dir'],
  defaults: ['model'],
  resource: 'compute',
} as const satisfies StageSpec
export type ExportParams = Decoded<typeof exportSpec.params>

export const sweepSpec = {
  name: 'sweep',
  description: 'Run a hyperparameter sweep (a sweep file) and hand its best trial to later stages; optionally train the winner again (`refit`).',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['sweep'],
    properties: {
      sweep: { type: 'string', [PATH]: true, description: 'The sweep file. Relative to the pipeline file.' },
      concurrency: { type: 'integer', minimum: 1, description: "Trials at once (default: the sweep file's concurrency, else 1)." },
      set: { type: 'array', items: { type: 'string' }, description: '`key.path=value` overrides of the base pipeline for every trial, as `lorapipe sweep --set`.' },
      refit: {
        type: 'object',
        additionalProperties: false,
        properties: { set: { type: 'array', items: { type: 'string' }, description: 'Overrides for the rerun, e.g. `trainer.epochs=10`.' } },
        description: "Run the best trial's pipeline (best.yaml) once more with these overrides, e.g. to train the winner longer; its run folder is the `best_run` output.",
      },
    },
  },
  outputs: ['best', 'leaderboard', 'dir', 'best_value', 'best_trial_dir', 'best_run'],
  resource: 'compute',
} as const satisfies StageSpec
export type SweepParams = Decoded<typeof sweepSpec.params>

export const builtinSpecs: readonly StageSpec[] = [finetuneSpec, evaluateSpec, compareSpec, exportSpec, sweepSpec]

export function builtinSpec(name: string): StageSpec | undefined {
  return builtinSpecs.find((s) => s.name === name)
}

type Obj = Record<string, unknown>
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined)

function checkModel(model: unknown): ParamProblem[] {
  const m = obj(model)
  if (!m) return []
  if (m.id === undefined && m.path === undefined && !(m.init === 'random' && m.config !== undefined))
    return [{ pointer: '/model', message: 'the model needs `id` (a hub repository) or `path` (a local folder)', hint: 'or `init: random` with a `config` file' }]
  return []
}

function checkDataset(dataset: unknown, needsTrain: boolean): ParamProblem[] {
  const d = obj(dataset)
  if (!d) return []
  const out: ParamProblem[] = []
  const sources = needsTrain ? (['train', 'eval'] as const) : (['eval'] as const)
  for (const split of sources) {
    const s = obj(d[split])
    if (!s) {
      if (split === 'train' || !needsTrain) out.push({ pointer: `/dataset`, message: `the dataset has no \`${split}\` split`, hint: `add \`${split}: { split: ${split === 'train' ? 'train' : 'validation'} }\` (hub) or \`${split}: { path: file.tsv }\`` })
      continue
    }
    if (s.path === undefined && s.ratio === undefined) {
      if (s.split === undefined) out.push({ pointer: `/dataset/${split}`, message: `\`dataset.${split}\` needs \`path\` (a local file), \`split\` (a hub split) or \`ratio\``})
      else if (d.id === undefined) out.push({ pointer: `/dataset/${split}/split`, message: `\`dataset.${split}.split\` names a hub split but \`dataset.id\` is not set`, hint: 'set `dataset.id` (e.g. `glue`) or give a local `path`' })
    }
    if (s.ratio !== undefined && split === 'train') out.push({ pointer: `/dataset/train/ratio`, message: '`ratio` carves the eval split out of the train data; it belongs under `dataset.eval`' })
  }
  return out
}

function checkLabels(model: unknown, dataset: unknown): ParamProblem[] {
  const m = obj(model)
  const d = obj(dataset)
  const out: ParamProblem[] = []
  const labels = Array.isArray(m?.labels) ? m.labels : undefined
  if (labels && typeof m?.num_labels === 'number' && labels.length !== m.num_labels)
    out.push({ pointer: '/model/labels', message: `\`model.labels\` has ${labels.length} names but \`model.num_labels\` is ${m.num_labels}`, hint: 'make them agree, or drop num_labels' })
  const dl = Array.isArray(d?.labels) ? d.labels : undefined
  if (dl && typeof m?.num_labels === 'number' && dl.length !== m.num_labels)
    out.push({ pointer: '/dataset/labels', message: `\`dataset.labels\` has ${dl.length} names but \`model.num_labels\` is ${m.num_labels}`, hint: 'make them agree' })
  return out
}
