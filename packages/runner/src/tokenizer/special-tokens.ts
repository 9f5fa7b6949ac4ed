// The special tokens of a tokenizer (bos, eos, unk, pad, and BERT's sep/cls/mask) resolved as
// transformers (v4) resolves them when it loads a tokenizer folder: the values in
// tokenizer_config.json, overridden by special_tokens_map.json, each a string, an AddedToken
// object ({"content": ..., "__type": "AddedToken"}) or null (explicitly none); a key that neither
// file has takes the default of the tokenizer class's __init__ (LlamaTokenizerFast: <unk>, <s>,
// </s>), kept only when the vocabulary has that token.
import { TokenizerError } from './errors.ts'

export const SPECIAL_TOKEN_ROLES = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const
export type SpecialTokenRole = (typeof SPECIAL_TOKEN_ROLES)[number]

export interface SpecialToken {
  token: string
  id: number
}

export type SpecialTokens = { [R in SpecialTokenRole]?: SpecialToken } & {
  /** additional_special_tokens, as the chat template sees them. */
  additional: string[]
}

type Defaults = Partial<Record<SpecialTokenRole, string>>

const LLAMA: Defaults = { unk_token: '<unk>', bos_token: '<s>', eos_token: '</s>' }
const GEMMA: Defaults = { unk_token: '<unk>', bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>' }
const GPT2: Defaults = { unk_token: '<|endoftext|>', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }
const QWEN2: Defaults = { unk_token: '<|endoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>' }
const BERT: Defaults = { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' }

/** __init__ defaults of the tokenizer classes of the families lorapipe loads (slow and fast names alike). */
const CLASS_DEFAULTS: Record<string, Defaults> = {
  LlamaTokenizer: LLAMA,
  CodeLlamaTokenizer: LLAMA,
  GemmaTokenizer: GEMMA,
  GPT2Tokenizer: GPT2,
  Qwen2Tokenizer: QWEN2,
  BertTokenizer: BERT,
  DistilBertTokenizer: BERT,
}

export function classDefaults(tokenizerClass: unknown): Defaults {
  if (typeof tokenizerClass !== 'string') return {}
  return CLASS_DEFAULTS[tokenizerClass.replace(/Fast$/, '')] ?? {}
}

/**
 * The token text of a tokenizer_config value: a string, an AddedToken object, null (none), or
 * undefined when the value is of no known form.
 */
export function tokenContent(value: unknown): string | null | undefined {
  if (value === null) return null
  if (typeof value === 'string') return value
  if (typeof value === 'object' && !Array.isArray(value) && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content
  }
  return undefined
}

/**
 * Resolves the special tokens. `idOf` looks a token up in the vocabulary (added tokens included).
 * A token named in the files that the vocabulary lacks is an error (transformers would silently
 * add it as a new token that the model has no embedding for).
 */
export function resolveSpecialTokens(
  config: Record<string, unknown>,
  specialTokensMap: Record<string, unknown>,
  idOf: (token: string) => number | undefined,
  source: string,
): SpecialTokens {
  const defaults = classDefaults(config.tokenizer_class)
  const out: SpecialTokens = { additional: [] }
  for (const role of SPECIAL_TOKEN_ROLES) {
    const fromMap = role in specialTokensMap
    const raw = fromMap ? specialTokensMap[role] : config[role]
    if (raw === undefined) {
      const fallback = defaults[role]
      const id = fallback === undefined ? undefined : idOf(fallback)
      if (fallback !== undefined && id !== undefined) out[role] = { token: fallback, id }
      continue
    }
    const token = tokenContent(raw)
    const file = fromMap ? 'special_tokens_map.json' : 'tokenizer_config.json'
    if (token === undefined) {
      throw new TokenizerError({ source, message: `${source}: ${role} in ${file} is ${JSON.stringify(raw)}; it must be a token string, an object with "content", or null` })
    }
    if (token === null) continue
    const id = idOf(token)
    if (id === undefined) {
      throw new TokenizerError({
        source,
        message: `${source}: ${role} ${JSON.stringify(token)} (${file}) is not in the tokenizer's vocabulary; set ${role} to a token of tokenizer.json or to null`,
      })
    }
    out[role] = { token, id }
  }
  const extra = 'additional_special_tokens' in specialTokensMap ? specialTokensMap.additional_special_tokens : config.additional_special_tokens
  if (Array.isArray(extra)) {
    for (const t of extra) {
      const token = tokenContent(t)
      if (typeof token === 'string') out.additional.push(token)
    }
  }
  return out
}

/** The special tokens as transformers' `special_tokens_map` (what a chat template gets as variables). */
export function specialTokensMap(tokens: SpecialTokens): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const role of SPECIAL_TOKEN_ROLES) {
    const t = tokens[role]
    if (t) out[role] = t.token
  }
  if (tokens.additional.length > 0) out.additional_special_tokens = [...tokens.additional]
  return out
}
