// Which special tokens `encode(text, add_special_tokens=true)` adds. The tokenizer.json's
// post_processor says it, except for the tokenizer classes whose transformers __init__ rebuilds it
// from tokenizer_config.json (LlamaTokenizerFast, CodeLlamaTokenizerFast, GemmaTokenizerFast:
// `update_post_processor`): there `add_bos_token` (default true) and `add_eos_token` (default
// false) decide, so a Llama tokenizer_config with add_eos_token true appends </s>, whatever the
// tokenizer.json says.
import { TokenizerError } from './errors.ts'
import type { SpecialTokens } from './special-tokens.ts'

const REBUILT_BY_CONFIG = new Set(['LlamaTokenizer', 'CodeLlamaTokenizer', 'GemmaTokenizer'])

type Json = Record<string, any>

/** The post_processor transformers runs for this tokenizer_config (the tokenizer.json's own unless rebuilt). */
export function effectivePostProcessor(tokenizerJson: Json, config: Json, special: SpecialTokens, source: string): Json | null {
  const cls = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : ''
  if (!REBUILT_BY_CONFIG.has(cls)) return tokenizerJson.post_processor ?? null
  const addBos = config.add_bos_token === undefined ? true : config.add_bos_token === true
  const addEos = config.add_eos_token === true
  const bos = special.bos_token
  const eos = special.eos_token
  if (addBos && !bos) {
    throw new TokenizerError({ source, message: `${source}: add_bos_token is true but the tokenizer has no bos_token; set bos_token or add_bos_token: false in tokenizer_config.json` })
  }
  if (addEos && !eos) {
    throw new TokenizerError({ source, message: `${source}: add_eos_token is true but the tokenizer has no eos_token; set eos_token or add_eos_token: false in tokenizer_config.json` })
  }
  const special_ = (t: string, typeId: number) => ({ SpecialToken: { id: t, type_id: typeId } })
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } })
  const side = (typeId: number) => [
    ...(addBos ? [special_(bos!.token, typeId)] : []),
    seq(typeId === 0 ? 'A' : 'B', typeId),
    ...(addEos ? [special_(eos!.token, typeId)] : []),
  ]
  const specials: Json = {}
  if (addBos) specials[bos!.token] = { id: bos!.token, ids: [bos!.id], tokens: [bos!.token] }
  if (addEos) specials[eos!.token] = { id: eos!.token, ids: [eos!.id], tokens: [eos!.token] }
  return { type: 'TemplateProcessing', single: side(0), pair: [...side(0), ...side(1)], special_tokens: specials }
}
