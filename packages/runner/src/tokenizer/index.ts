// Public surface of the tokenizer area.
export { TokenizerError } from './errors.ts'
export { loadTokenizer } from './load.ts'
export { bertTokenizerJson, parseVocabTxt, type BertTokenizerConfig } from './bert-json.ts'
export { TextTokenizer, type Batch, type Encoded, type TokenizerOptions } from './tokenizer.ts'
export { truncatedLengths, type TruncationStrategy } from './truncation.ts'
