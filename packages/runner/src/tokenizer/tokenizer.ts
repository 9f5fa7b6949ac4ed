// A text tokenizer for sequence classification: wraps @huggingface/tokenizers (normalizer,
// pre-tokenizer, WordPiece/BPE model) and adds what that library leaves out and training needs:
// truncation to max_length with the Rust crate's rules, special tokens with token type ids, and
// batches padded to the longest sequence in the batch (dynamic padding) as flat Int32Arrays.
import { Tokenizer } from '@huggingface/tokenizers'
import { tokenizerSchema, type TokenizerSection } from '@lorapipe/core/pipeline/sections/tokenizer.ts'
import { TokenizerError } from './errors.ts'
import { truncatedLengths, type TruncationStrategy } from './truncation.ts'

export interface TokenizerOptions {
  /** Longest sequence, special tokens included. Default: tokenizer_config's model_max_length, else 512. */
  maxLength?: number
  /** How a too-long input is cut (default longest_first); false rejects inputs over maxLength instead. */
  truncation?: TruncationStrategy | false
  /** `longest` (default) pads each batch to its longest row; `max_length` pads every batch to maxLength. */
  padding?: TokenizerSection['padding']
  /** Overrides the padding token (default: tokenizer.json padding, tokenizer_config pad_token, else [PAD]). */
  padToken?: string
}

/** One tokenized example, not padded. */
export interface Encoded {
  ids: Int32Array
  typeIds: Int32Array
  /** Tokens cut by truncation (absent when none were). */
  truncated?: number
}

/** A padded batch, row-major [batchSize, seqLen]. */
export interface Batch {
  inputIds: Int32Array
  attentionMask: Int32Array
  tokenTypeIds: Int32Array
  batchSize: number
  seqLen: number
  /** Unpadded length of each row. */
  lengths: Int32Array
}

type Piece = { kind: 'special'; ids: number[]; typeId: number } | { kind: 'seq'; seq: 'A' | 'B'; typeId: number }

interface Template {
  single: Piece[]
  pair: Piece[]
}

function specialCount(pieces: Piece[]): number {
  let n = 0
  for (const p of pieces) if (p.kind === 'special') n += p.ids.length
  return n
}

type Json = Record<string, any>

/** Turns tokenizer.json's post_processor into pieces with ids, so special tokens are added without re-lookup. */
function parseTemplate(pp: Json | null | undefined, idOf: (tok: string) => number | undefined, source: string): Template {
  const need = (tok: string): number => {
    const id = idOf(tok)
    if (id === undefined) {
      throw new TokenizerError({ source, message: `${source}: post_processor uses the special token ${JSON.stringify(tok)}, which is not in the vocabulary` })
    }
    return id
  }
  if (pp === null || pp === undefined) return { single: [{ kind: 'seq', seq: 'A', typeId: 0 }], pair: [{ kind: 'seq', seq: 'A', typeId: 0 }, { kind: 'seq', seq: 'B', typeId: 0 }] }
  switch (pp.type) {
    case 'TemplateProcessing': {
      const specials: Json = pp.special_tokens ?? {}
      const convert = (items: Json[]): Piece[] =>
        items.map((item): Piece => {
          if ('SpecialToken' in item) {
            const name: string = item.SpecialToken.id
            const ids: number[] = specials[name]?.ids ?? [need(name)]
            return { kind: 'special', ids, typeId: item.SpecialToken.type_id ?? 0 }
          }
          return { kind: 'seq', seq: item.Sequence.id === 'B' ? 'B' : 'A', typeId: item.Sequence.type_id ?? 0 }
        })
      return { single: convert(pp.single ?? []), pair: convert(pp.pair ?? []) }
    }
    case 'BertProcessing': {
      const cls = pp.cls?.[1] ?? need(pp.cls?.[0] ?? '[CLS]')
      const sep = pp.sep?.[1] ?? need(pp.sep?.[0] ?? '[SEP]')
      const s = (id: number, typeId: number): Piece => ({ kind: 'special', ids: [id], typeId })
      return {
        single: [s(cls, 0), { kind: 'seq', seq: 'A', typeId: 0 }, s(sep, 0)],
        pair: [s(cls, 0), { kind: 'seq', seq: 'A', typeId: 0 }, s(sep, 0), { kind: 'seq', seq: 'B', typeId: 1 }, s(sep, 1)],
      }
    }
    case 'RobertaProcessing': {
      const cls = pp.cls?.[1] ?? need(pp.cls?.[0] ?? '<s>')
      const sep = pp.sep?.[1] ?? need(pp.sep?.[0] ?? '</s>')
      const s = (id: number): Piece => ({ kind: 'special', ids: [id], typeId: 0 })
      return {
        single: [s(cls), { kind: 'seq', seq: 'A', typeId: 0 }, s(sep)],
        pair: [s(cls), { kind: 'seq', seq: 'A', typeId: 0 }, s(sep), s(sep), { kind: 'seq', seq: 'B', typeId: 0 }, s(sep)],
      }
    }
    case 'ByteLevel':
      // Only adjusts offsets; adds no tokens.
      return parseTemplate(null, idOf, source)
    case 'Sequence': {
      const adding = (pp.processors ?? []).filter((p: Json) => p.type !== 'ByteLevel')
      if (adding.length > 1) {
        throw new TokenizerError({ source, message: `${source}: post_processor Sequence with ${adding.length} token-adding processors is not supported` })
      }
      return parseTemplate(adding[0] ?? null, idOf, source)
    }
    default:
      throw new TokenizerError({
        source,
        message: `${source}: post_processor type ${JSON.stringify(pp.type)} is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)`,
      })
  }
}

function sanitizeMaxLength(config: Json): number | undefined {
  // transformers writes a huge sentinel (1e30) when a model has no limit.
  const m = config.model_max_length
  return typeof m === 'number' && Number.isInteger(m) && m > 0 && m <= 1_000_000 ? m : undefined
}

export class TextTokenizer {
  readonly maxLength: number
  readonly truncation: TruncationStrategy | false
  readonly padding: TokenizerSection['padding']
  readonly padId: number
  /** One more than the largest token id (the embedding matrix must have at least this many rows). */
  readonly vocabSize: number
  /** Where it was loaded from, for messages. */
  readonly source: string
  private readonly inner: Tokenizer
  private readonly template: Template
  private readonly unkId: number | undefined

  constructor(tokenizerJson: Json, tokenizerConfig: Json, options: TokenizerOptions = {}, source = '<memory>') {
    this.source = source
    try {
      // The library expects a config with added_tokens; tokenizer.json always has it but be lenient.
      this.inner = new Tokenizer({ added_tokens: [], ...tokenizerJson }, tokenizerConfig)
    } catch (e) {
      throw new TokenizerError({ source, message: `${source}: cannot build the tokenizer: ${(e as Error).message}` })
    }
    const vocab = this.inner.get_vocab(true)
    let maxId = -1
    for (const id of vocab.values()) if (id > maxId) maxId = id
    this.vocabSize = maxId + 1
    const idOf = (t: string): number | undefined => this.inner.token_to_id(t)
    this.template = parseTemplate(tokenizerJson.post_processor, idOf, source)
    const unk = tokenizerJson.model?.unk_token
    this.unkId = typeof unk === 'string' ? idOf(unk) : undefined

    const padToken: string | undefined =
      options.padToken ?? tokenizerJson.padding?.pad_token ?? (typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : tokenizerConfig.pad_token?.content) ?? '[PAD]'
    const padId = options.padToken === undefined && typeof tokenizerJson.padding?.pad_id === 'number' ? tokenizerJson.padding.pad_id : idOf(padToken!)
    if (padId === undefined) {
      throw new TokenizerError({
        source,
        message: `${source}: the padding token ${JSON.stringify(padToken)} is not in the vocabulary; set pad_token in tokenizer_config.json or pass padToken`,
      })
    }
    this.padId = padId

    this.truncation = options.truncation ?? 'longest_first'
    // Left out (predict, tests), the `tokenizer` section's defaults; the folder's model_max_length before that.
    this.padding = options.padding ?? tokenizerSchema.properties.padding.default
    this.maxLength = options.maxLength ?? sanitizeMaxLength(tokenizerConfig) ?? tokenizerSchema.properties.max_length.default
    const added = Math.max(specialCount(this.template.single), specialCount(this.template.pair))
    if (!Number.isInteger(this.maxLength) || this.maxLength <= added) {
      throw new TokenizerError({
        source,
        message: `${source}: max_length ${this.maxLength} leaves no room for text after the ${added} special tokens; use a max_length above ${added}`,
      })
    }
  }

  /** Token strings of a text, without special tokens (for inspection and tests). */
  tokenize(text: string): string[] {
    return this.inner.tokenize(text)
  }

  /** Id of a token, or undefined when the vocabulary lacks it. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token)
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id)
  }

  decode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    return this.inner.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens })
  }

  private rawIds(text: string, what: string): number[] {
    if (typeof text !== 'string') {
      throw new TokenizerError({ source: this.source, message: `${this.source}: ${what} must be a string, got ${text === null ? 'null' : typeof text}` })
    }
    const ids = this.inner.encode(text, { add_special_tokens: false }).ids
    if (this.unkId !== undefined) {
      for (let i = 0; i < ids.length; i++) if (ids[i] === undefined) ids[i] = this.unkId
    }
    return ids
  }

  /** Tokenizes one text (or a pair), truncated to maxLength, with special tokens; not padded. */
  encode(text: string, pair?: string): Encoded {
    const a = this.rawIds(text, 'text')
    const b = pair === undefined ? undefined : this.rawIds(pair, 'text pair')
    const pieces = b === undefined ? this.template.single : this.template.pair
    const budget = this.maxLength - specialCount(pieces)
    if (this.truncation === false && a.length + (b?.length ?? 0) > budget) {
      throw new TokenizerError({
        source: this.source,
        message: `${this.source}: an input of ${a.length + (b?.length ?? 0) + specialCount(pieces)} tokens exceeds max_length ${this.maxLength} and truncation is off; enable truncation or raise max_length (text starts ${JSON.stringify(text.slice(0, 60))})`,
      })
    }
    const keep = truncatedLengths(a.length, b?.length, budget, this.truncation || 'longest_first')
    if (typeof keep === 'string') throw new TokenizerError({ source: this.source, message: `${this.source}: ${keep}` })
    let n = keep.keepA + keep.keepB + specialCount(pieces)
    const ids = new Int32Array(n)
    const typeIds = new Int32Array(n)
    n = 0
    for (const p of pieces) {
      if (p.kind === 'special') {
        for (const id of p.ids) {
          ids[n] = id
          typeIds[n++] = p.typeId
        }
      } else {
        const src = p.seq === 'A' ? a : b!
        const len = p.seq === 'A' ? keep.keepA : keep.keepB
        for (let i = 0; i < len; i++) {
          ids[n] = src[i]!
          typeIds[n++] = p.typeId
        }
      }
    }
    const cut = a.length + (b?.length ?? 0) - keep.keepA - keep.keepB
    return cut > 0 ? { ids, typeIds, truncated: cut } : { ids, typeIds }
  }

  /** Tokenizes many examples (pairs[i] undefined means no pair for row i). */
  encodeAll(texts: readonly string[], pairs?: readonly (string | undefined)[]): Encoded[] {
    if (pairs !== undefined && pairs.length !== texts.length) {
      throw new TokenizerError({ source: this.source, message: `${this.source}: got ${texts.length} texts but ${pairs.length} text pairs; they must be the same length` })
    }
    const out = new Array<Encoded>(texts.length)
    for (let i = 0; i < texts.length; i++) out[i] = this.encode(texts[i]!, pairs?.[i])
    return out
  }

  /** Unpadded length of each example, for grouping examples of similar length into batches. */
  static lengths(examples: readonly Encoded[]): Int32Array {
    const out = new Int32Array(examples.length)
    for (let i = 0; i < examples.length; i++) out[i] = examples[i]!.ids.length
    return out
  }

  /** Tokenizes and pads a batch to its longest row. */
  encodeBatch(texts: readonly string[], pairs?: readonly (string | undefined)[]): Batch {
    return this.collate(this.encodeAll(texts, pairs))
  }

  /**
   * Pads already tokenized examples (all, or those at `indices`) to the longest among them.
   * Padding positions get padId, attention 0 and token type 0.
   */
  collate(examples: readonly Encoded[], indices?: ArrayLike<number>): Batch {
    const batchSize = indices ? indices.length : examples.length
    const pick = (r: number): Encoded => {
      const e = examples[indices ? indices[r]! : r]
      if (e === undefined) throw new TokenizerError({ source: this.source, message: `${this.source}: collate index ${indices ? indices[r] : r} is out of range (0..${examples.length - 1})` })
      return e
    }
    let seqLen = 0
    const lengths = new Int32Array(batchSize)
    for (let r = 0; r < batchSize; r++) {
      lengths[r] = pick(r).ids.length
      if (lengths[r]! > seqLen) seqLen = lengths[r]!
    }
    if (this.padding === 'max_length') seqLen = Math.max(seqLen, this.maxLength)
    const inputIds = new Int32Array(batchSize * seqLen)
    const attentionMask = new Int32Array(batchSize * seqLen)
    const tokenTypeIds = new Int32Array(batchSize * seqLen)
    if (this.padId !== 0) inputIds.fill(this.padId)
    for (let r = 0; r < batchSize; r++) {
      const e = pick(r)
      const off = r * seqLen
      inputIds.set(e.ids, off)
      tokenTypeIds.set(e.typeIds, off)
      attentionMask.fill(1, off, off + e.ids.length)
    }
    return { inputIds, attentionMask, tokenTypeIds, batchSize, seqLen, lengths }
  }
}
