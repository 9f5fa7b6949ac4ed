// A tokenizer as transformers' fast tokenizers behave for causal language models: any
// tokenizer.json (byte-level BPE, SentencePiece-style BPE with byte fallback, WordPiece) run by
// @huggingface/tokenizers; `encode(text, {addSpecialTokens})` adds what the post-processor adds
// (Mistral/Llama 2 prepend <s>, Qwen2.5 adds nothing); the special tokens resolved from
// tokenizer_config.json and special_tokens_map.json; the chat template; and the padding token:
// pad_token, else eos_token, as TRL pads (labels on padding are -100 by position, never by id, so
// padding with the id of </s> cannot hide a real end of sequence).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { FILE_KINDS } from '@lorapipe/core/fs/user-file.ts'
import { bertTokenizerJson, parseVocabTxt } from './bert-json.ts'
import { ChatTemplate, resolveChatTemplate, type ChatMessage, type RenderOptions } from './chat-template.ts'
import { TokenizerError } from './errors.ts'
import { tokenizerFolderProblem } from './folder.ts'
import { readJson, readText } from './load.ts'
import { effectivePostProcessor } from './post-processor.ts'
import { resolveSpecialTokens, specialTokensMap, type SpecialTokens } from './special-tokens.ts'

type Json = Record<string, any>

export interface CausalLmTokenizerOptions {
  /** The pipeline's `tokenizer.chat_template`: a Jinja template, or the name of one of the tokenizer's named templates. */
  chatTemplate?: string
  /** The token to pad with (TRL's `pad_token`); default: the tokenizer's pad_token, else its eos_token. */
  padToken?: string
}

/** The token batches are padded with, and why that one. */
export interface Padding {
  token: string
  id: number
  from: 'option' | 'pad_token' | 'eos_token'
}

/** What a tokenizer folder holds, read. */
export interface TokenizerFiles {
  tokenizerJson: Json
  config: Json
  specialTokensMap?: Json
  chatTemplateFile?: { path: string; text: string }
  /** The folder (or file) it came from, for messages. */
  source: string
  /** tokenizer_config.json's path (whether or not it exists), for messages about its keys. */
  configFile: string
}

export class CausalLmTokenizer {
  readonly source: string
  /** One more than the largest token id: the embedding matrix must have at least this many rows. */
  readonly vocabSize: number
  readonly specialTokens: SpecialTokens
  /** The padding token, or undefined when the tokenizer has neither pad_token nor eos_token. */
  readonly padding: Padding | undefined
  /** The chat template, or undefined when the tokenizer has none and no override was given. */
  readonly chatTemplate: ChatTemplate | undefined
  private readonly inner: Tokenizer
  private readonly unkId: number | undefined

  constructor(files: TokenizerFiles, options: CausalLmTokenizerOptions = {}) {
    const { tokenizerJson, config, source } = files
    this.source = source
    // Special tokens first (from the JSON's own vocabulary), since they decide the post-processor
    // the library is built with: building it twice costs half a second for a 32k vocabulary.
    const idOf = vocabularyLookup(tokenizerJson)
    this.specialTokens = resolveSpecialTokens(config, files.specialTokensMap ?? {}, idOf, source)
    const postProcessor = effectivePostProcessor(tokenizerJson, config, this.specialTokens, source)
    try {
      this.inner = new Tokenizer({ added_tokens: [], ...tokenizerJson, post_processor: postProcessor }, config)
    } catch (e) {
      throw new TokenizerError({ source, message: `${source}: cannot build the tokenizer: ${(e as Error).message}` })
    }
    let maxId = -1
    for (const id of this.inner.get_vocab(true).values()) if (id > maxId) maxId = id
    this.vocabSize = maxId + 1
    const unk = tokenizerJson.model?.unk_token
    this.unkId = typeof unk === 'string' ? idOf(unk) : undefined

    if (options.padToken !== undefined) {
      const id = idOf(options.padToken)
      if (id === undefined) {
        throw new TokenizerError({ source, message: `${source}: the padding token ${JSON.stringify(options.padToken)} (pad_token option) is not in the vocabulary; name a token of tokenizer.json` })
      }
      this.padding = { token: options.padToken, id, from: 'option' }
    } else if (this.specialTokens.pad_token) {
      this.padding = { ...this.specialTokens.pad_token, from: 'pad_token' }
    } else if (this.specialTokens.eos_token) {
      this.padding = { ...this.specialTokens.eos_token, from: 'eos_token' }
    }

    const template = resolveChatTemplate({
      config,
      configFile: files.configFile,
      ...(files.chatTemplateFile ? { jinjaFile: files.chatTemplateFile } : {}),
      ...(options.chatTemplate !== undefined ? { override: options.chatTemplate } : {}),
    })
    this.chatTemplate = template ? new ChatTemplate(template.text, template.source, specialTokensMap(this.specialTokens)) : undefined
  }

  /**
   * Token ids of a text, as transformers' `tokenizer(text, add_special_tokens=...)["input_ids"]`
   * (default true, as there): no truncation, no padding. Special-token text inside the text
   * (e.g. "<s>", "<|im_end|>") becomes that special token, as in transformers.
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    if (typeof text !== 'string') {
      throw new TokenizerError({ source: this.source, message: `${this.source}: can only encode a string, got ${text === null ? 'null' : typeof text}` })
    }
    const ids = this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids as (number | undefined)[]
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== undefined) continue
      if (this.unkId === undefined) {
        throw new TokenizerError({ source: this.source, message: `${this.source}: the text ${JSON.stringify(text.slice(0, 60))} has a piece the vocabulary lacks and the tokenizer has no unk_token` })
      }
      ids[i] = this.unkId
    }
    return ids as number[]
  }

  /** Text of token ids, as transformers' decode (skip_special_tokens default false, as there). */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const list = Array.from(ids)
    // The library refuses an empty list; transformers decodes it to "".
    if (list.length === 0) return ''
    return this.inner.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false })
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token)
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id)
  }

  /** The padding id, or a TokenizerError saying how to set one. */
  get padId(): number {
    if (this.padding) return this.padding.id
    throw new TokenizerError({
      source: this.source,
      message: `${this.source}: the tokenizer has neither pad_token nor eos_token, so batches cannot be padded; set pad_token in tokenizer_config.json (or the pad_token option)`,
    })
  }

  /** The chat template, or a TokenizerError saying how to set one. */
  requireChatTemplate(): ChatTemplate {
    if (this.chatTemplate) return this.chatTemplate
    throw new TokenizerError({
      source: this.source,
      message:
        `${this.source}: the tokenizer has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja), so chat rows (messages) cannot be rendered; ` +
        `set tokenizer.chat_template in the pipeline to a Jinja template (for example ChatML: ` +
        `"{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"), ` +
        `or give the data as prompt/completion or text columns`,
    })
  }

  /** The rendered text of a conversation (transformers' apply_chat_template(..., tokenize=False)). */
  applyChatTemplate(messages: readonly ChatMessage[], options: RenderOptions): string {
    return this.requireChatTemplate().render(messages, options)
  }
}

/** Token -> id over tokenizer.json's model vocabulary and its added tokens (these win, as in the library). */
function vocabularyLookup(tokenizerJson: Json): (token: string) => number | undefined {
  const map = new Map<string, number>()
  const vocab = tokenizerJson.model?.vocab
  if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], ...], the id is the position.
    vocab.forEach((entry: unknown, i: number) => {
      if (Array.isArray(entry) && typeof entry[0] === 'string') map.set(entry[0], i)
    })
  } else if (vocab && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab)) if (typeof id === 'number') map.set(token, id)
  }
  for (const t of Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : []) {
    if (t && typeof t.content === 'string' && typeof t.id === 'number') map.set(t.content, t.id)
  }
  return (token) => map.get(token)
}

/** Reads a tokenizer folder: tokenizer.json (or a BERT vocab.txt), tokenizer_config.json, special_tokens_map.json, chat_template.jinja. */
export function readTokenizerFolder(dir: string): TokenizerFiles {
  const problem = tokenizerFolderProblem(dir)
  if (problem) throw new TokenizerError({ source: dir, message: problem })
  const jsonFile = join(dir, 'tokenizer.json')
  const configFile = join(dir, 'tokenizer_config.json')
  const mapFile = join(dir, 'special_tokens_map.json')
  const jinjaFile = join(dir, 'chat_template.jinja')
  const config = existsSync(configFile) ? readJson(configFile) : {}
  let tokenizerJson: Json
  let source: string
  if (existsSync(jsonFile)) {
    tokenizerJson = readJson(jsonFile, FILE_KINDS.tokenizer)
    source = jsonFile
  } else {
    const vocabFile = join(dir, 'vocab.txt')
    tokenizerJson = bertTokenizerJson(parseVocabTxt(readText(vocabFile, FILE_KINDS.tokenizer)), config, vocabFile)
    source = vocabFile
  }
  return {
    tokenizerJson,
    config,
    ...(existsSync(mapFile) ? { specialTokensMap: readJson(mapFile) } : {}),
    ...(existsSync(jinjaFile) ? { chatTemplateFile: { path: jinjaFile, text: readText(jinjaFile, FILE_KINDS.config) } } : {}),
    source,
    configFile,
  }
}

/** Loads the tokenizer of a model folder for causal-LM work (SFT, scoring, generation). */
export function loadCausalLmTokenizer(dir: string, options: CausalLmTokenizerOptions = {}): CausalLmTokenizer {
  return new CausalLmTokenizer(readTokenizerFolder(dir), options)
}
