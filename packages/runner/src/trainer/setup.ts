// From a stage's `model`, `dataset` and `tokenizer` sections to what training or evaluation runs
// on: the backend, the model folder or config, the tokenized splits, and (after the label check)
// the model itself. Everything that can be wrong with the input is checked before anything is
// written or any weights are allocated.
import * as Data from 'effect/Data'
import type { StageContext } from '@lorapipe/core'
import { tokenizerSchema, type DatasetSection, type ModelSection, type TokenizerSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { describeBackend, selectBackend, type BackendInfo } from '../backend/select.ts'
import { loadSplits, type Dataset, type DatasetSpec } from '../data/index.ts'
import { readModelConfig, type ModelConfig } from '../models/config.ts'
import { createRandomModel, loadPretrained } from '../models/load.ts'
import type { SequenceClassifier } from '../models/classifier.ts'
import { resolveDataset, resolveModel, type ResolvedDataset, type ResolvedModel } from '../resolve/index.ts'
import { loadTokenizer } from '../tokenizer/load.ts'
import type { Encoded, TextTokenizer } from '../tokenizer/tokenizer.ts'
import type { EncodedSplit } from './evaluate.ts'

export class SetupError extends Data.TaggedError('SetupError')<{ readonly message: string }> {}

type Ctx = Pick<StageContext, 'resolvePath' | 'emitSync' | 'signal' | 'runtime'> & { readonly offline?: boolean }

export async function useBackend(ctx: Ctx): Promise<BackendInfo> {
  const info = await selectBackend({ backend: ctx.runtime.backend, threads: ctx.runtime.threads, blas: ctx.runtime.blas })
  ctx.emitSync({ _tag: 'Log', level: 'info', message: `backend: ${describeBackend(info)}` })
  return info
}

export interface Prepared {
  readonly resolvedModel: ResolvedModel
  readonly resolvedData: ResolvedDataset
  readonly config: ModelConfig
  readonly tokenizer: TextTokenizer
  readonly tokenizerDir: string
  readonly data: { readonly train?: Dataset | undefined; readonly eval?: Dataset | undefined }
  readonly train?: EncodedSplit | undefined
  readonly eval?: EncodedSplit | undefined
}

/**
 * Resolves the model and data, reads the model config, loads and tokenizes the splits and checks
 * the labels against the model's num_labels. `splits` says which splits are needed.
 */
export async function prepare(model: ModelSection, dataset: DatasetSection, tok: TokenizerSection | undefined, seed: number, ctx: Ctx, splits: 'train+eval' | 'eval', resolved?: ResolvedModel): Promise<Prepared> {
  const { resolvedModel, resolvedData, data, config } = await prepareData(model, dataset, seed, ctx, splits, resolved)
  const d = resolvedData.dataset
  const { tokenizer, tokenizerDir } = stageTokenizer(tok, resolvedModel, config, ctx)
  const encode = (ds: Dataset | undefined): EncodedSplit | undefined =>
    ds && {
      encoded: tokenizer.encodeAll(
        ds.rows.map((r) => r.text),
        d.text_pair_column ? ds.rows.map((r) => r.textPair) : undefined,
      ),
      labels: Int32Array.from(ds.rows, (r) => r.label),
    }
  const train = encode(data.train)
  const evalSplit = encode(data.eval)
  for (const [name, s] of [['train', train], ['eval', evalSplit]] as const) if (s) ctx.emitSync({ _tag: 'Log', level: 'info', message: `${name} data: ${describeEncoded(s.encoded, tokenizer.maxLength)}` })
  return { resolvedModel, resolvedData, config, tokenizer, tokenizerDir, data, train, eval: evalSplit }
}

/** A split's counts, said at the start of a run: rows, tokens, the longest, and how many rows truncation cut. */
export function describeEncoded(encoded: readonly Encoded[], maxLength: number): string {
  const n = (x: number) => x.toLocaleString('en-US')
  let tokens = 0
  let longest = 0
  let truncated = 0
  for (const e of encoded) {
    tokens += e.ids.length
    longest = Math.max(longest, e.ids.length)
    if (e.truncated) truncated++
  }
  return `${n(encoded.length)} rows: ${n(tokens)} tokens; longest ${n(longest)}; ${n(truncated)} truncated to ${n(maxLength)}`
}

/** The folder the stage's tokenizer comes from: `tokenizer.path`, else the model folder. */
export function tokenizerDirOf(tok: TokenizerSection | undefined, resolvedModel: ResolvedModel, ctx: Pick<Ctx, 'resolvePath'>): string {
  const dir = tok?.path !== undefined ? ctx.resolvePath(tok.path) : resolvedModel.dir
  if (dir === undefined) throw new SetupError({ message: 'no tokenizer: the model is built from a config only; set `tokenizer.path` to a folder with tokenizer.json or vocab.txt' })
  return dir
}

/**
 * The stage's tokenizer: `tokenizer.path`, else the model folder's; its vocabulary must fit the
 * model's. (The preflight checks the folder, without loading it, before anything is written.)
 * Without a `tokenizer` section, the section's defaults.
 */
export function stageTokenizer(section: TokenizerSection | undefined, resolvedModel: ResolvedModel, config: ModelConfig, ctx: Pick<Ctx, 'resolvePath' | 'emitSync'>): { tokenizer: TextTokenizer; tokenizerDir: string } {
  const tok: TokenizerSection = section ?? withDefaults(tokenizerSchema, {})
  const tokenizerDir = tokenizerDirOf(tok, resolvedModel, ctx)
  let maxLength = tok.max_length
  if (maxLength > config.maxPositionEmbeddings) {
    ctx.emitSync({ _tag: 'Log', level: 'warn', message: `tokenizer.max_length ${maxLength} exceeds the model's max_position_embeddings ${config.maxPositionEmbeddings}; using ${config.maxPositionEmbeddings}` })
    maxLength = config.maxPositionEmbeddings
  }
  const tokenizer = loadTokenizer(tokenizerDir, { maxLength, truncation: tok.truncation ? 'longest_first' : false, padding: tok.padding })
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new SetupError({ message: `the tokenizer in ${tokenizerDir} has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}; use the model's own tokenizer` })
  }
  return { tokenizer, tokenizerDir }
}

/** Builds the model: pretrained weights from the folder, or fresh seeded weights from the config. */
export async function buildModel(p: Prepared, seed: number, ctx: Ctx): Promise<SequenceClassifier> {
  if (p.resolvedModel.init === 'random') {
    ctx.emitSync({ _tag: 'Log', level: 'info', message: `model: ${p.config.modelType} built from ${p.resolvedModel.configPath} with random weights (seed ${seed})` })
    return createRandomModel(p.config, { seed })
  }
  const overrides = { labels: Object.keys(p.config.id2label).sort((a, b) => Number(a) - Number(b)).map((k) => p.config.id2label[k]!) }
  const { model, report } = await loadPretrained(p.resolvedModel.dir!, { ...overrides, seed, ignoreMismatchedSizes: true })
  for (const w of report.warnings) ctx.emitSync({ _tag: 'Log', level: 'warn', message: w })
  return model
}

/** The data part of `prepare`: model source and config, the loaded splits, and the label check. */
export async function prepareData(
  model: ModelSection,
  dataset: DatasetSection,
  seed: number,
  ctx: Ctx,
  splits: 'train+eval' | 'eval',
  resolved?: ResolvedModel,
): Promise<{ resolvedModel: ResolvedModel; resolvedData: ResolvedDataset; data: Prepared['data']; config: ModelConfig }> {
  const resolvedModel = resolved ?? (await resolveModel(model, ctx))
  const wanted: DatasetSection = splits === 'eval' ? { ...dataset, train: undefined } : dataset
  if (splits === 'eval' && !dataset.eval) throw new SetupError({ message: 'the dataset has no `eval` split to evaluate on; add `dataset.eval` (a `path` or a hub `split`)' })
  if (splits === 'train+eval' && !dataset.train) throw new SetupError({ message: 'the dataset has no `train` split; add `dataset.train` (a `path` or a hub `split`)' })
  const resolvedData = await resolveDataset(wanted, ctx)
  const d = resolvedData.dataset
  const spec = (train: DatasetSpec['train'], ev: DatasetSpec['eval']): DatasetSpec => ({
    text_column: d.text_column,
    label_column: d.label_column,
    ...(d.text_pair_column ? { text_pair_column: d.text_pair_column } : {}),
    ...(d.labels ? { labels: [...d.labels] } : {}),
    train,
    ...(ev ? { eval: ev } : {}),
  })
  const splitOf = (s: NonNullable<DatasetSection['train']>) => ({ ...s })
  let data: { train?: Dataset; eval?: Dataset }
  if (splits === 'eval') {
    // The eval split alone is loaded as if it were a train split (no ratio carving).
    const only = await loadSplits(spec(splitOf(d.eval!), undefined), { seed })
    data = { eval: only.train }
  } else {
    data = await loadSplits(spec(splitOf(d.train!), d.eval ? splitOf(d.eval) : undefined), { seed })
  }

  // Labels: the model's `labels` / `num_labels` win; else the dataset's class names when it has them.
  const names = data.train?.labelNames ?? data.eval?.labelNames
  const overrides =
    model.labels !== undefined
      ? { labels: model.labels }
      : model.num_labels !== undefined
        ? { numLabels: model.num_labels }
        : names && resolvedModel.init === 'random'
          ? { labels: names }
          : {}
  const config = await readModelConfig(resolvedModel.configPath, overrides)
  for (const [name, ds] of Object.entries(data)) {
    if (!ds) continue
    let max = -1
    for (const r of ds.rows) if (r.label > max) max = r.label
    const count = Math.max(ds.numLabels, max + 1)
    if (count > config.numLabels) {
      throw new SetupError({
        message: `labels do not fit the model: the ${name} split (${ds.source.files.join(', ')}) has ${count} classes${ds.labelNames ? ` (${ds.labelNames.join(', ')})` : ` (label ids up to ${max})`} but the model has num_labels ${config.numLabels}; set \`model.num_labels: ${count}\` (or \`model.labels\`)`,
      })
    }
    if (ds.rows.length === 0) throw new SetupError({ message: `the ${name} split (${ds.source.files.join(', ')}) has no examples` })
  }

  return { resolvedModel, resolvedData, data, config }
}
