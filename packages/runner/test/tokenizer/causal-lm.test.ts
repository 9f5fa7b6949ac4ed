import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { CausalLmTokenizer, loadCausalLmTokenizer, loadTokenizer, TokenizerError } from '../../src/tokenizer/index.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'
import { L, LLAMA_CONFIG, tinyTokenizerDir, tinyTokenizerJson } from '../support/tiny-tokenizer.ts'

const tokErr = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TokenizerError, `expected a TokenizerError, got ${e}`)
  assert.match(e.message, re)
  return true
}

describe('encoding with a SentencePiece-style BPE tokenizer.json', () => {
  const tok = loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG))

  test('merges by rank over the whole text with the ▁ prefix, and prepends <s> with special tokens', () => {
    assert.deepEqual(tok.encode('hi there', { addSpecialTokens: false }), [31, 3, L('t'), L('h'), L('e'), L('r'), L('e')])
    assert.deepEqual(tok.encode('hi there'), [1, 31, 3, L('t'), L('h'), L('e'), L('r'), L('e')])
  })

  test('special-token text inside a text becomes the special token, and the text after it gets its own ▁', () => {
    assert.deepEqual(tok.encode('<s>ab</s>', { addSpecialTokens: false }), [1, 32, L('b'), 2])
  })

  test('falls back to bytes for characters the vocabulary lacks', () => {
    assert.deepEqual(tok.encode('a\nb', { addSpecialTokens: false }), [32, 34, L('b')])
  })

  test('decodes with and without special tokens; an empty list decodes to ""', () => {
    const ids = tok.encode('hi there')
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'hi there')
    assert.equal(tok.decode(ids), '<s> hi there')
    assert.equal(tok.decode([]), '')
  })

  test('knows its vocabulary size and special tokens', () => {
    assert.equal(tok.vocabSize, 35)
    assert.deepEqual(tok.specialTokens.bos_token, { token: '<s>', id: 1 })
    assert.deepEqual(tok.specialTokens.eos_token, { token: '</s>', id: 2 })
    assert.deepEqual(tok.specialTokens.unk_token, { token: '<unk>', id: 0 })
    assert.equal(tok.specialTokens.pad_token, undefined)
  })
})

describe('special tokens as transformers resolves them', () => {
  test('AddedToken objects in tokenizer_config.json are read by their content', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, eos_token: { __type: 'AddedToken', content: '</s>', lstrip: false }, pad_token: { content: '<unk>' } }))
    assert.deepEqual(tok.specialTokens.eos_token, { token: '</s>', id: 2 })
    assert.deepEqual(tok.padding, { token: '<unk>', id: 0, from: 'pad_token' })
  })

  test('special_tokens_map.json overrides tokenizer_config.json', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG, { 'special_tokens_map.json': JSON.stringify({ eos_token: 'a', pad_token: { content: 'b' } }) }))
    assert.deepEqual(tok.specialTokens.eos_token, { token: 'a', id: L('a') })
    assert.equal(tok.padId, L('b'))
  })

  test('a key left out takes the tokenizer class default (LlamaTokenizerFast: <s>, </s>, <unk>); null means none', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir({ tokenizer_class: 'LlamaTokenizerFast', unk_token: null }))
    assert.equal(tok.specialTokens.bos_token?.id, 1)
    assert.equal(tok.specialTokens.eos_token?.id, 2)
    assert.equal(tok.specialTokens.unk_token, undefined)
    const plain = loadCausalLmTokenizer(tinyTokenizerDir({ tokenizer_class: 'PreTrainedTokenizerFast' }))
    assert.equal(plain.specialTokens.eos_token, undefined)
  })

  test('without a pad_token, batches are padded with eos_token, as TRL pads', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG))
    assert.deepEqual(tok.padding, { token: '</s>', id: 2, from: 'eos_token' })
    assert.equal(tok.padId, 2)
  })

  test('the pad_token option wins (TRL\'s SFTConfig.pad_token) and must be in the vocabulary', () => {
    assert.deepEqual(loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG), { padToken: '<unk>' }).padding, { token: '<unk>', id: 0, from: 'option' })
    assert.throws(() => loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG), { padToken: '<pad>' }), tokErr(/padding token "<pad>" \(pad_token option\) is not in the vocabulary/))
  })

  test('with neither pad_token nor eos_token, asking for the padding id says how to set one', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir({ tokenizer_class: 'PreTrainedTokenizerFast' }))
    assert.equal(tok.padding, undefined)
    assert.throws(() => tok.padId, tokErr(/neither pad_token nor eos_token.*set pad_token in tokenizer_config\.json/))
  })

  test('a special token the vocabulary lacks is an error naming the key and the file', () => {
    assert.throws(() => loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, eos_token: '<|im_end|>' })), tokErr(/eos_token "<\|im_end\|>" \(tokenizer_config\.json\) is not in the tokenizer's vocabulary/))
    assert.throws(() => loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, bos_token: 7 })), tokErr(/bos_token in tokenizer_config\.json is 7/))
  })
})

describe('which special tokens encode adds', () => {
  test('Llama-class tokenizers follow add_bos_token / add_eos_token, rebuilding the post-processor as transformers does', () => {
    const both = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, add_eos_token: true }))
    assert.deepEqual(both.encode('ab'), [1, 32, L('b'), 2])
    const none = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, add_bos_token: false }))
    assert.deepEqual(none.encode('ab'), [32, L('b')])
    assert.deepEqual(none.encode('ab', { addSpecialTokens: false }), [32, L('b')])
  })

  test('other classes use the tokenizer.json post-processor as it is', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir({ tokenizer_class: 'PreTrainedTokenizerFast', add_bos_token: false, eos_token: '</s>' }))
    assert.deepEqual(tok.encode('ab'), [1, 32, L('b')])
  })

  test('a tokenizer.json without a post-processor adds nothing', () => {
    const json = { ...tinyTokenizerJson(), post_processor: null }
    const tok = new CausalLmTokenizer({ tokenizerJson: json, config: { eos_token: '</s>' }, source: '<memory>', configFile: '<memory>' })
    assert.deepEqual(tok.encode('ab'), [32, L('b')])
  })
})

describe('parity with transformers on real tokenizers (golden/llama-tokenizer.json)', () => {
  const golden = () => JSON.parse(readFileSync(shared('fixtures/golden/llama-tokenizer.json'), 'utf8')) as {
    strings: { text: string; ids: Record<string, number[]>; ids_with_special_tokens: Record<string, number[]>; decoded: Record<string, string> }[]
  }
  const dirs = { 'tiny-llama': 'fixtures/tiny-llama', 'qwen2.5': 'fixtures/tokenizers/qwen2.5' } as const
  // Loading Qwen2.5's 151k-token tokenizer takes seconds: each is loaded once for all the tests.
  const loaded = new Map<string, CausalLmTokenizer>()
  const load = (dir: string) => loaded.get(dir) ?? loaded.set(dir, loadCausalLmTokenizer(shared(dir))).get(dir)!

  for (const [name, dir] of Object.entries(dirs)) {
    test(`${name}: all 20 strings get the reference ids with and without special tokens, and decode to the reference text`, { skip: needsShared }, () => {
      const tok = load(dir)
      const g = golden()
      assert.equal(g.strings.length, 20)
      for (const s of g.strings) {
        assert.deepEqual(tok.encode(s.text, { addSpecialTokens: false }), s.ids[name], `ids of ${JSON.stringify(s.text)}`)
        const withSpecial = tok.encode(s.text, { addSpecialTokens: true })
        assert.deepEqual(withSpecial, s.ids_with_special_tokens[name], `ids with special tokens of ${JSON.stringify(s.text)}`)
        assert.equal(tok.decode(withSpecial, { skipSpecialTokens: true }), s.decoded[name], `decoding of ${JSON.stringify(s.text)}`)
      }
    })
  }

  test('tiny-llama: bos <s> 1, eos </s> 2, unk and pad <unk> 0; vocabulary 32,000', { skip: needsShared }, () => {
    const tok = load(dirs['tiny-llama'])
    assert.deepEqual(tok.specialTokens.bos_token, { token: '<s>', id: 1 })
    assert.deepEqual(tok.specialTokens.eos_token, { token: '</s>', id: 2 })
    assert.deepEqual(tok.specialTokens.unk_token, { token: '<unk>', id: 0 })
    assert.deepEqual(tok.padding, { token: '<unk>', id: 0, from: 'pad_token' })
    assert.equal(tok.vocabSize, 32000)
  })

  test('qwen2.5: no bos, eos <|im_end|> 151645, pad <|endoftext|> 151643, no unk; 151,665 ids', { skip: needsShared }, () => {
    const tok = load(dirs['qwen2.5'])
    assert.equal(tok.specialTokens.bos_token, undefined)
    assert.equal(tok.specialTokens.unk_token, undefined)
    assert.deepEqual(tok.specialTokens.eos_token, { token: '<|im_end|>', id: 151645 })
    assert.deepEqual(tok.padding, { token: '<|endoftext|>', id: 151643, from: 'pad_token' })
    assert.equal(tok.vocabSize, 151665)
    assert.ok(tok.specialTokens.additional.includes('<|im_start|>'))
  })

  test('WordPiece (BERT) through the same class: the SST-2 goldens with [CLS]/[SEP], as the classification tokenizer gives', { skip: needsShared }, () => {
    const tok = loadCausalLmTokenizer(shared('fixtures/tiny-distilbert'))
    const bert = loadTokenizer(shared('fixtures/tiny-distilbert'), { maxLength: 256 })
    const lines = readFileSync(shared('fixtures/golden/tokenizer-sst2.jsonl'), 'utf8').split('\n').filter(Boolean)
    let compared = 0
    for (const line of lines) {
      const ref = JSON.parse(line) as { text: string; input_ids: number[] }
      if (ref.input_ids.length >= 256) continue // the golden is truncated to 256; this class does not truncate
      assert.deepEqual(tok.encode(ref.text), ref.input_ids, ref.text)
      assert.deepEqual(tok.encode(ref.text), Array.from(bert.encode(ref.text).ids))
      compared++
    }
    assert.equal(compared, lines.length)
    assert.equal(tok.padding?.id, 0)
  })
})
