// A small SentencePiece-style BPE tokenizer folder (Llama layout: normalizer Prepend "▁" +
// Replace " " -> "▁", no pre-tokenizer, TemplateProcessing that prepends <s>) whose ids can be
// worked out by hand, for tests that must run without ../shared.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const LETTERS = 'abcdefghijklmnopqrstuvwxyz'

/** <unk> 0, <s> 1, </s> 2, ▁ 3, a..z 4..29, then the merges' results: hi 30, ▁hi 31, ▁a 32. */
export function tinyVocab(): Record<string, number> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2, '▁': 3 }
  for (let i = 0; i < LETTERS.length; i++) vocab[LETTERS[i]!] = 4 + i
  vocab.hi = 30
  vocab['▁hi'] = 31
  vocab['▁a'] = 32
  vocab[':'] = 33
  vocab['<0x0A>'] = 34
  return vocab
}

/** Id of a letter. */
export const L = (c: string) => 4 + LETTERS.indexOf(c)

export function tinyTokenizerJson(): Record<string, unknown> {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: tinyVocab(),
      merges: ['h i', '▁ hi', '▁ a'],
    },
  }
}

/** A tokenizer folder with that tokenizer.json and the given tokenizer_config.json (and other files). */
export function tinyTokenizerDir(config: Record<string, unknown>, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-tinytok-'))
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()))
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config))
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text)
  return dir
}

/** A Mistral-like config: bos <s>, eos </s>, no pad token. */
export const LLAMA_CONFIG = { tokenizer_class: 'LlamaTokenizer', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false }

/** A template in the style of Mistral-Instruct: "<s>[user]:[assistant]</s>..." with letters only. */
export const TINY_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System messages are not supported') }}{% endif %}" +
  "{% if m.role == 'user' %}{{ m.content + ':' }}{% else %}{{ m.content + eos_token }}{% endif %}{% endfor %}"
