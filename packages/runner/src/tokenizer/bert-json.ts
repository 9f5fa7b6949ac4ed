// Builds the tokenizer.json object that `transformers` would convert a slow BertTokenizer into
// (vocab.txt + tokenizer_config.json), so that old checkpoints without tokenizer.json run through the
// same @huggingface/tokenizers code path as new ones. Mirrors transformers' BertConverter:
// BertNormalizer(lowercase = do_lower_case, strip_accents, handle_chinese_chars), BertPreTokenizer,
// WordPiece with `##` continuation, TemplateProcessing "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1".
import { TokenizerError } from './errors.ts'

/** The subset of tokenizer_config.json a BERT-style vocab.txt tokenizer is described by. */
export interface BertTokenizerConfig {
  do_lower_case?: boolean
  strip_accents?: boolean | null
  tokenize_chinese_chars?: boolean
  unk_token?: string
  cls_token?: string
  sep_token?: string
  pad_token?: string
  mask_token?: string
  [key: string]: unknown
}

/** Parses vocab.txt: one token per line, the id is the 0-based line number (a trailing newline is not a token). */
export function parseVocabTxt(text: string): string[] {
  const lines = text.split(/\r?\n/)
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}

function tokenName(value: unknown, fallback: string): string {
  // Hub configs sometimes store special tokens as AddedToken dicts ({content: "[CLS]", ...}).
  if (typeof value === 'string') return value
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content
  }
  return fallback
}

/** tokenizer.json equivalent of a BERT WordPiece tokenizer given its vocabulary and tokenizer_config.json. */
export function bertTokenizerJson(vocab: readonly string[], config: BertTokenizerConfig, source = '<memory>'): Record<string, unknown> {
  const ids: Record<string, number> = {}
  vocab.forEach((tok, i) => {
    // First occurrence wins, as in transformers' load_vocab (later duplicates would shadow ids).
    if (!(tok in ids)) ids[tok] = i
  })
  const unk = tokenName(config.unk_token, '[UNK]')
  const cls = tokenName(config.cls_token, '[CLS]')
  const sep = tokenName(config.sep_token, '[SEP]')
  const pad = tokenName(config.pad_token, '[PAD]')
  const mask = tokenName(config.mask_token, '[MASK]')
  for (const [role, tok] of [['unk_token', unk], ['cls_token', cls], ['sep_token', sep]] as const) {
    if (ids[tok] === undefined) {
      throw new TokenizerError({
        source,
        message: `${source}: the ${role} ${JSON.stringify(tok)} is not in vocab.txt (${vocab.length} tokens); set ${role} in tokenizer_config.json to a token the vocabulary has`,
      })
    }
  }
  const special = [pad, unk, cls, sep, mask].filter((t, i, all) => ids[t] !== undefined && all.indexOf(t) === i)
  const lowercase = config.do_lower_case ?? true
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special
      .map((t) => ({ id: ids[t]!, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
      .sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: config.tokenize_chinese_chars ?? true,
      strip_accents: config.strip_accents ?? null,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [ids[cls]!], tokens: [cls] },
        [sep]: { id: sep, ids: [ids[sep]!], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  }
}
