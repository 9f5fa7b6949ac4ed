// From a stage's `model`, `dataset`, `tokenizer` and `trainer` sections to what causal-LM SFT runs
// on, as TRL's SFTTrainer prepares it: the model's tokenizer (its chat template, or
// `tokenizer.chat_template`; pad_token, else eos_token), the rows (`messages`, prompt/completion
// or text; local JSON lines, Parquet, TSV/CSV, or hub Parquet files), tokenized with labels -100 on
// the prompt (completion_only_loss, default true), truncated to max_length (the truncated rows
// counted), the training examples optionally packed. Everything that can be wrong with the input
// (rows, roles, empty completions, a missing chat template, vocabularies that disagree, a missing
// shard) is found here, before any weight is allocated; the preflight runs the same code.
import type { StageContext } from '@lorapipe/core'
import { tokenizerSchema, type DatasetSection, type ModelSection, type TokenizerSection, type TrainerSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { describeSftStats, encodeSftRows, loadSftSplits, packExamples, type PackingStats, type SftRows, type SftSequence, type SftSplitSpec, type SftStats } from '../data/sft/index.ts'
import type { ModelConfig } from '../models/config.ts'
import { checkpointFiles } from '../models/load.ts'
import { resolveDataset, resolveModel, ModelSourceError, type ResolvedDataset, type ResolvedModel } from '../resolve/index.ts'
import { loadCausalLmTokenizer, type CausalLmTokenizer } from '../tokenizer/causal-lm.ts'
import { SetupError, tokenizerDirOf } from './setup.ts'

type Ctx = Pick<StageContext, 'resolvePath' | 'emitSync' | 'signal' | 'runtime'> & { readonly offline?: boolean }

/** A tokenized split: the sequences trained or evaluated on, and what was done to the rows. */
export interface SftSplit {
  readonly sequences: readonly SftSequence[]
  readonly stats: SftStats
  readonly packing?: PackingStats | undefined
  readonly files: readonly string[]
}

export interface PreparedCausalLm {
  readonly resolvedModel: ResolvedModel
  readonly resolvedData: ResolvedDataset
  readonly config: ModelConfig
  readonly tokenizer: CausalLmTokenizer
  readonly tokenizerDir: string
  /** Longest example (after the model's max_position_embeddings cap); null without truncation. */
  readonly maxLength: number | null
  readonly padId: number
  readonly train?: SftSplit | undefined
  readonly eval?: SftSplit | undefined
}

/** The trainer keys SFT data depends on (evaluate has none: its defaults). */
export type SftTrainerKeys = Pick<TrainerSection, 'completion_only_loss' | 'packing'>

/**
 * Resolves the data, loads the model's tokenizer, reads and tokenizes the splits; `splits` says
 * which are needed. `config` is the model's config (read by the caller, which decided the task).
 */
export async function prepareCausalLm(
  model: ModelSection,
  dataset: DatasetSection,
  tok: TokenizerSection | undefined,
  trainer: SftTrainerKeys,
  seed: number,
  ctx: Ctx,
  splits: 'train+eval' | 'eval',
  resolved: { resolvedModel?: ResolvedModel; config: ModelConfig },
): Promise<PreparedCausalLm> {
  const resolvedModel = resolved.resolvedModel ?? (await resolveModel(model, ctx))
  const config = resolved.config
  if (resolvedModel.init === 'pretrained' && resolvedModel.dir !== undefined) {
    // A missing shard is found before the data is read, and before a run folder exists.
    try {
      checkpointFiles(resolvedModel.dir)
    } catch (e) {
      if ((e as { _tag?: string })._tag !== 'ModelError') throw e
      throw new ModelSourceError({ message: `the model folder ${resolvedModel.dir}: ${(e as { reason: string }).reason}` })
    }
  }
  if (splits === 'eval' && !dataset.eval) throw new SetupError({ message: 'the dataset has no `eval` split to evaluate on; add `dataset.eval` (a `path` or a hub `split`)' })
  if (splits === 'train+eval' && !dataset.train) throw new SetupError({ message: 'the dataset has no `train` split; add `dataset.train` (a `path` or a hub `split`)' })
  const wanted: DatasetSection = splits === 'eval' ? { ...dataset, train: undefined } : dataset
  const resolvedData = await resolveDataset(wanted, ctx)
  const d = resolvedData.dataset

  const t: TokenizerSection = tok ?? withDefaults(tokenizerSchema, {})
  const tokenizerDir = tokenizerDirOf(t, resolvedModel, ctx)
  const tokenizer = loadCausalLmTokenizer(tokenizerDir, { ...(t.chat_template !== undefined ? { chatTemplate: t.chat_template } : {}), ...(t.pad_token !== undefined ? { padToken: t.pad_token } : {}) })
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new SetupError({
      message: `the tokenizer (${tokenizer.source}) has ${tokenizer.vocabSize.toLocaleString('en-US')} tokens but the model's vocab_size is ${config.vocabSize.toLocaleString('en-US')} (${resolvedModel.configPath}): they do not belong together; use the model's own tokenizer (leave tokenizer.path out), or a model of this tokenizer's vocabulary`,
    })
  }
  let maxLength: number | null = t.truncation ? t.max_length : null
  if (maxLength !== null && maxLength > config.maxPositionEmbeddings) {
    ctx.emitSync({ _tag: 'Log', level: 'warn', message: `tokenizer.max_length ${maxLength} exceeds the model's max_position_embeddings ${config.maxPositionEmbeddings}; using ${config.maxPositionEmbeddings}` })
    maxLength = config.maxPositionEmbeddings
  }

  const split = (s: NonNullable<DatasetSection['train']>): SftSplitSpec => ({
    ...(s.path !== undefined ? { path: s.path } : {}),
    ...(s.format !== undefined ? { format: s.format } : {}),
    ...(s.ratio !== undefined ? { ratio: s.ratio } : {}),
    shuffle: s.shuffle,
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    ...(s.limit !== undefined ? { limit: s.limit } : {}),
  })
  const columns = { messagesColumn: d.messages_column, promptColumn: d.prompt_column, completionColumn: d.completion_column, textColumn: d.text_column }
  let rows: { train?: SftRows; eval?: SftRows }
  if (splits === 'eval') {
    // The eval split alone is read as if it were a train split (no ratio carving).
    const only = await loadSftSplits({ train: split(d.eval!), columns, ...(d.kind ? { kind: d.kind } : {}) }, { seed })
    rows = { eval: only.train }
  } else {
    rows = await loadSftSplits({ train: split(d.train!), ...(d.eval ? { eval: split(d.eval) } : {}), columns, ...(d.kind ? { kind: d.kind } : {}) }, { seed })
  }

  const encode = (name: 'train' | 'eval', set: SftRows | undefined, pack: boolean): SftSplit | undefined => {
    if (!set) return undefined
    const files = set.source.files
    if (set.rows.length === 0) throw new SetupError({ message: `the ${name} split (${files.join(', ')}) has no rows` })
    const { examples, stats } = encodeSftRows(set.rows, tokenizer, { maxLength, truncationMode: t.truncation_mode, completionOnlyLoss: trainer.completion_only_loss })
    if (examples.length === 0) throw new SetupError({ message: `the ${name} split (${files.join(', ')}) has no row with a completion token left after truncation to ${maxLength}; raise tokenizer.max_length` })
    if (!pack) return { sequences: examples, stats, files }
    const packed = packExamples(examples, maxLength ?? config.maxPositionEmbeddings)
    return { sequences: packed.sequences, stats, packing: packed.stats, files }
  }
  const train = encode('train', rows.train, trainer.packing)
  const ev = encode('eval', rows.eval, false)
  return { resolvedModel, resolvedData, config, tokenizer, tokenizerDir, maxLength, padId: tokenizer.padId, train, eval: ev }
}

/** The start-of-run lines: rows, tokens, labelled tokens, truncated and dropped rows, packing. */
export function describeSftData(p: PreparedCausalLm): string[] {
  const lines: string[] = []
  for (const [name, s] of [['train', p.train], ['eval', p.eval]] as const) {
    if (!s) continue
    let line = `${name} data (${s.files.join(', ')}): ${describeSftStats(s.stats, p.maxLength)}`
    if (s.packing) line += `; packed into ${s.packing.sequences.toLocaleString('en-US')} sequences of at most ${p.maxLength ?? p.config.maxPositionEmbeddings} tokens (${(100 * s.packing.fill).toFixed(1)}% full)`
    lines.push(line)
  }
  return lines
}
