// Scoring rows with a causal language model (optionally with a PEFT LoRA adapter), in eval mode:
// per row, the causal-LM loss as transformers computes it (labels shifted left by one, mean
// cross-entropy over the tokens whose label is not -100), the number of those tokens, and on
// request the logits of every position, so that numbers can be checked against another
// implementation. Text rows are tokenized exactly as SFT data is (data/sft/encode.ts), so a row
// scores what training and evaluation compute on it. Rows go through the model in consecutive
// batches (right-padded; padding is not computed and changes nothing), results in input order.
import { join } from 'node:path'
import { readModelConfig } from '../models/config.ts'
import { familyOf } from '../models/families.ts'
import { loadCausalLm } from '../models/load.ts'
import { IGNORE_INDEX, type CausalLm, type LabelledDecoderInputs } from '../models/causal-lm.ts'
import { causalLmLossSums } from '../models/causal-lm-loss.ts'
import { loadAdapter } from '../lora/adapter.ts'
import { loadCausalLmTokenizer, type CausalLmTokenizer } from '../tokenizer/causal-lm.ts'
import { TokenizerError } from '../tokenizer/errors.ts'
import { encodeSftRow } from '../data/sft/encode.ts'
import { DatasetError } from '../data/errors.ts'
import { rowInputError, ScoreInputError, type ScoreRow } from './inputs.ts'

export interface ScorerOptions {
  /** A PEFT LoRA adapter folder (task_type CAUSAL_LM) applied to the model. */
  readonly adapter?: string
  /** Cut longer rows to this many tokens, keeping the start (TRL's truncation_mode keep_start). */
  readonly maxLength?: number
  /** Score every token of chat and prompt/completion rows (TRL's completion_only_loss: false). */
  readonly allTokens?: boolean
  /** A Jinja chat template (text), used instead of the tokenizer's. */
  readonly chatTemplate?: string
}

/** A row ready for the model. */
export interface EncodedRow {
  readonly row: ScoreRow
  readonly inputIds: Int32Array
  /** Not shifted; -100 where no loss is taken. */
  readonly labels: Int32Array
  readonly attentionMask: Int32Array
  /** Tokens the loss is taken over (labels not -100 after the shift). */
  readonly tokens: number
}

export interface RowScore {
  readonly row: ScoreRow
  /** Mean cross-entropy over the labelled tokens (sum in float64 of float32 token losses / tokens). */
  readonly loss: number
  readonly tokens: number
  readonly inputIds: Int32Array
  readonly labels: Int32Array
  /** With `logits`: per position, the vocabulary's logits, or null where the attention mask is 0 (not computed). */
  readonly logits?: Array<Float32Array | null>
}

export interface ScoreOptions {
  /** Also return every position's logits (holds [batch, length, vocab] floats per batch). */
  readonly logits?: boolean
  /** Rows per forward pass (default 8; 1 with logits). */
  readonly batchSize?: number
}

export class Scorer {
  private tokenizerCache: CausalLmTokenizer | undefined

  private constructor(
    readonly model: CausalLm,
    readonly modelDir: string,
    private readonly options: ScorerOptions,
  ) {}

  /** Loads the model folder (weights in F32, F16 or BF16; sharded or not) and the adapter. */
  static async load(modelDir: string, options: ScorerOptions = {}): Promise<Scorer> {
    const config = await readModelConfig(join(modelDir, 'config.json'))
    const family = familyOf(config)
    if (family.task !== 'causal-lm') {
      throw new ScoreInputError({
        file: modelDir,
        reason: `${family.architecture} is a ${family.task} model; \`lorapipe score\` scores causal language models (llama, mistral, qwen2): classify texts with \`lorapipe predict\``,
      })
    }
    const { model } = await loadCausalLm(modelDir)
    if (options.adapter) await loadAdapter(model, options.adapter)
    return new Scorer(model, modelDir, options)
  }

  /** The model folder's tokenizer, loaded when a row needs it (token rows do not). */
  private tokenizer(row: ScoreRow): CausalLmTokenizer {
    if (this.tokenizerCache) return this.tokenizerCache
    let tok: CausalLmTokenizer
    try {
      tok = loadCausalLmTokenizer(this.modelDir, this.options.chatTemplate !== undefined ? { chatTemplate: this.options.chatTemplate } : {})
    } catch (e) {
      if (e instanceof TokenizerError) throw rowInputError(row.origin, `a text row needs the model's tokenizer, which cannot be loaded: ${e.message}; or give the row's token ids as "input_ids"`)
      throw e
    }
    if (tok.vocabSize > this.model.vocabSize) {
      throw new ScoreInputError({
        file: tok.source,
        reason: `the tokenizer has ${tok.vocabSize.toLocaleString('en-US')} tokens but the model's vocab_size is ${this.model.vocabSize.toLocaleString('en-US')}: they do not belong together; use the model's own tokenizer`,
      })
    }
    return (this.tokenizerCache = tok)
  }

  /** Tokenizes and checks one row: ids in the vocabulary, a position for every token, at least one labelled token. */
  encode(row: ScoreRow): EncodedRow {
    let inputIds: Int32Array
    let labels: Int32Array
    let attentionMask: Int32Array
    if (row.kind === 'tokens') {
      inputIds = row.inputIds
      attentionMask = row.attentionMask ?? new Int32Array(inputIds.length).fill(1)
      // Without labels: the ids (transformers' labels=input_ids), -100 on padding (as TRL's collator).
      labels = row.labels ?? inputIds.map((id, t) => (attentionMask[t] === 0 ? IGNORE_INDEX : id))
    } else {
      const tok = this.tokenizer(row)
      if (row.row.kind === 'chat' && !tok.chatTemplate) {
        throw rowInputError(
          row.origin,
          `a chat row ("messages"), but the tokenizer (${tok.source}) has no chat template; give one with --chat-template FILE, or give the row as "prompt"/"completion" or "text"`,
        )
      }
      let enc
      try {
        enc = encodeSftRow(row.row, tok, !this.options.allTokens)
      } catch (e) {
        if (e instanceof DatasetError) throw rowInputError(row.origin, e.message.replace(`${e.file}:${e.line}: `, '').replace(`${e.file} (row ${e.line}): `, ''))
        if (e instanceof TokenizerError) throw rowInputError(row.origin, e.message)
        throw e
      }
      inputIds = Int32Array.from(enc.inputIds)
      labels = Int32Array.from(enc.inputIds)
      labels.fill(IGNORE_INDEX, 0, enc.promptLength)
      attentionMask = new Int32Array(inputIds.length).fill(1)
    }
    const max = this.options.maxLength
    if (max !== undefined && inputIds.length > max) {
      inputIds = inputIds.slice(0, max)
      labels = labels.slice(0, max)
      attentionMask = attentionMask.slice(0, max)
    }
    const v = this.model.vocabSize
    const vocab = `the model's vocabulary has ${v.toLocaleString('en-US')} tokens (ids 0 to ${(v - 1).toLocaleString('en-US')})`
    const bad = inputIds.findIndex((id) => id >= v)
    if (bad >= 0) throw rowInputError(row.origin, `token id ${inputIds[bad]} at position ${bad} is outside the vocabulary: ${vocab}; the ids are not of this model's tokenizer`)
    const badLabel = labels.findIndex((y) => y >= v)
    if (badLabel >= 0) throw rowInputError(row.origin, `label ${labels[badLabel]} at position ${badLabel} is outside the vocabulary: ${vocab}`)
    const positions = this.model.config.maxPositionEmbeddings
    if (inputIds.length > positions) {
      throw rowInputError(row.origin, `${inputIds.length} tokens, more than the model's max_position_embeddings (${positions}); cut rows with --max-length ${positions}`)
    }
    let tokens = 0
    for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) tokens++
    if (tokens === 0) {
      const why =
        row.kind === 'tokens'
          ? 'every label after the first position is -100 (the loss predicts each token from the ones before it, so the first token is never a target)'
          : max !== undefined && labels.length === max
            ? `--max-length ${max} cut every token the loss is taken over`
            : 'it has a single token (the loss predicts each token from the ones before it)'
      throw rowInputError(row.origin, `no token to score: ${why}`)
    }
    return { row, inputIds, labels, attentionMask, tokens }
  }

  /** Scores rows in input order; each row is encoded (and checked) before any is run. */
  score(rows: readonly ScoreRow[], options: ScoreOptions = {}): RowScore[] {
    const encoded = rows.map((r) => this.encode(r))
    const out: RowScore[] = []
    const size = options.batchSize ?? (options.logits ? 1 : 8)
    for (let i = 0; i < encoded.length; i += size) out.push(...this.scoreBatch(encoded.slice(i, i + size), options.logits ?? false))
    return out
  }

  private scoreBatch(rows: readonly EncodedRow[], withLogits: boolean): RowScore[] {
    const batchSize = rows.length
    const seqLen = Math.max(...rows.map((r) => r.inputIds.length))
    const n = batchSize * seqLen
    // Right padding: id 0 (any id of the vocabulary; padding is masked and not computed), label -100.
    const batch: LabelledDecoderInputs = {
      batchSize,
      seqLen,
      inputIds: new Int32Array(n),
      attentionMask: new Int32Array(n),
      labels: new Int32Array(n).fill(IGNORE_INDEX),
    }
    rows.forEach((r, b) => {
      batch.inputIds.set(r.inputIds, b * seqLen)
      ;(batch.attentionMask as Int32Array).set(r.attentionMask, b * seqLen)
      batch.labels.set(r.labels, b * seqLen)
    })
    const sums = causalLmLossSums(this.model, batch)
    let logits: Float32Array | undefined
    if (withLogits) {
      const t = this.model.logits(batch)
      logits = t.dataSync() as Float32Array
      t.dispose()
    }
    const v = this.model.vocabSize
    return rows.map((r, b) => {
      const tokens = sums.perRow.tokens[b]!
      const score: RowScore = { row: r.row, loss: sums.perRow.lossSum[b]! / tokens, tokens, inputIds: r.inputIds, labels: r.labels }
      if (!logits) return score
      const rowLogits = Array.from({ length: r.inputIds.length }, (_, t) =>
        r.attentionMask[t] === 0 ? null : logits!.slice((b * seqLen + t) * v, (b * seqLen + t + 1) * v),
      )
      return { ...score, logits: rowLogits }
    })
  }

  dispose(): void {
    this.model.dispose()
  }
}
