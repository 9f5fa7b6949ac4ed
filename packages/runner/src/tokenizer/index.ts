// Public surface of the tokenizer area.
export { TokenizerError } from './errors.ts'
export { loadTokenizer } from './load.ts'
export { bertTokenizerJson, parseVocabTxt, type BertTokenizerConfig } from './bert-json.ts'
export { TextTokenizer, type Batch, type Encoded, type TokenizerOptions } from './tokenizer.ts'
export { truncatedLengths, type TruncationStrategy } from './truncation.ts'
export {
  CausalLmTokenizer,
  loadCausalLmTokenizer,
  readTokenizerFolder,
  type CausalLmTokenizerOptions,
  type Padding,
  type TokenizerFiles,
} from './causal-lm.ts'
export { ChatTemplate, ChatTemplateRefusal, resolveChatTemplate, type ChatMessage, type ChatTemplateSources, type RenderOptions } from './chat-template.ts'
export { resolveSpecialTokens, specialTokensMap, tokenContent, type SpecialToken, type SpecialTokenRole, type SpecialTokens } from './special-tokens.ts'
