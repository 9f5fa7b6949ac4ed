import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bertTokenizerJson, loadTokenizer, TextTokenizer, TokenizerError, truncatedLengths } from '../../src/tokenizer/index.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

// A vocabulary small enough to work the expected ids out by hand (id = line number).
const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', // 0-4
  'hello', 'world', ',', '!', 'un', // 5-9
  '##aff', '##able', 'cafe', 'the', 'a', // 10-14
  '##s', 'cat', "'", 'dog', '.', // 15-19
  'Hello', 's', '##a', // 20-22
]

function modelDir(config: Record<string, unknown>, withJson = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-tok-'))
  writeFileSync(join(dir, 'vocab.txt'), VOCAB.join('\n') + '\n')
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config))
  if (withJson) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(VOCAB, config)))
  return dir
}

const ids = (a: Int32Array) => Array.from(a)

describe('WordPiece tokenizer from vocab.txt (uncased)', () => {
  const tok = loadTokenizer(modelDir({ do_lower_case: true }), { maxLength: 128 })

  test('lowercases, strips accents and splits punctuation', () => {
    assert.deepEqual(ids(tok.encode('Héllo, WORLD!').ids), [2, 5, 7, 6, 8, 3])
    assert.deepEqual(ids(tok.encode('Café').ids), [2, 12, 3])
    assert.deepEqual(ids(tok.encode("dog's").ids), [2, 18, 17, 21, 3])
  })

  test('splits words into ## continuation pieces, longest match first', () => {
    assert.deepEqual(tok.tokenize('unaffable cats'), ['un', '##aff', '##able', 'cat', '##s'])
    assert.deepEqual(ids(tok.encode('unaffable cats').ids), [2, 9, 10, 11, 16, 15, 3])
    assert.deepEqual(ids(tok.encode('aaaa').ids), [2, 14, 22, 22, 22, 3])
  })

  test('maps unknown words, partly matched words and words over 100 characters to [UNK]', () => {
    assert.deepEqual(ids(tok.encode('xyz unx').ids), [2, 1, 1, 3])
    assert.deepEqual(ids(tok.encode('a'.repeat(100)).ids).length, 2 + 100)
    assert.deepEqual(ids(tok.encode('a'.repeat(101)).ids), [2, 1, 3])
  })

  test('an empty text is just [CLS] [SEP]', () => {
    assert.deepEqual(ids(tok.encode('').ids), [2, 3])
  })

  test('sentence pairs get [SEP] between and token type 1 on the second segment', () => {
    const e = tok.encode('the cat', 'a dog .')
    assert.deepEqual(ids(e.ids), [2, 13, 16, 3, 14, 18, 19, 3])
    assert.deepEqual(ids(e.typeIds), [0, 0, 0, 0, 1, 1, 1, 1])
  })

  test('loading tokenizer.json gives the same ids as vocab.txt', () => {
    const viaJson = loadTokenizer(modelDir({ do_lower_case: true }, true), { maxLength: 32 })
    assert.equal(viaJson.source.endsWith('tokenizer.json'), true)
    for (const t of ['Héllo, WORLD!', 'unaffable cats', "dog's xyz"]) assert.deepEqual(viaJson.encode(t).ids, tok.encode(t).ids)
  })
})

describe('WordPiece tokenizer from vocab.txt (cased)', () => {
  test('keeps case and accents when do_lower_case is false', () => {
    const tok = loadTokenizer(modelDir({ do_lower_case: false }), { maxLength: 32 })
    assert.deepEqual(ids(tok.encode('Hello hello HELLO').ids), [2, 20, 5, 1, 3])
    assert.deepEqual(ids(tok.encode('café').ids), [2, 1, 3])
  })
})

describe('truncation', () => {
  const tok = loadTokenizer(modelDir({ do_lower_case: true }), { maxLength: 5 })

  test('cuts a single text so that the special tokens still fit in max_length', () => {
    assert.deepEqual(ids(tok.encode('the cat the dog the').ids), [2, 13, 16, 13, 3])
  })

  test('says how many tokens it cut (what the start-of-run counts add up), and nothing for a text that fits', () => {
    assert.equal(tok.encode('the cat the dog the').truncated, 2)
    assert.equal(tok.encode('the cat').truncated, undefined)
    assert.equal(loadTokenizer(modelDir({}), { maxLength: 7 }).encode('the cat', 'a dog .').truncated, 1)
  })

  test('longest_first on pairs shortens the longer segment first, as the Rust tokenizers do', () => {
    const t7 = loadTokenizer(modelDir({}), { maxLength: 7 })
    // budget 4 for 2 + 3 tokens: the shorter keeps its 2, the longer gets the other 2
    assert.deepEqual(ids(t7.encode('the cat', 'a dog .').ids), [2, 13, 16, 3, 14, 18, 3])
    const t10 = loadTokenizer(modelDir({}), { maxLength: 10 })
    // budget 7 for 5 + 4: split 3/4 with the odd token to the longer (first) segment
    const e = t10.encode('the cat the cat the', 'a dog a dog')
    assert.deepEqual(ids(e.ids), [2, 13, 16, 13, 16, 3, 14, 18, 14, 3])
    assert.deepEqual(ids(e.typeIds), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
  })

  test('lengths follow the Rust rule, including ties', () => {
    assert.deepEqual(truncatedLengths(5, 5, 7, 'longest_first'), { keepA: 3, keepB: 4 })
    assert.deepEqual(truncatedLengths(3, 20, 10, 'longest_first'), { keepA: 3, keepB: 7 })
    assert.deepEqual(truncatedLengths(12, undefined, 10, 'longest_first'), { keepA: 10, keepB: 0 })
    assert.deepEqual(truncatedLengths(8, 4, 10, 'only_first'), { keepA: 6, keepB: 4 })
    assert.match(truncatedLengths(2, 12, 10, 'only_first') as string, /first sequence has 2 tokens/)
  })

  test('with truncation off, an input over max_length is rejected instead of cut', () => {
    const t = loadTokenizer(modelDir({}), { maxLength: 5, truncation: false })
    assert.deepEqual(ids(t.encode('the cat the').ids), [2, 13, 16, 13, 3])
    assert.throws(() => t.encode('the cat the dog'), (e: unknown) => e instanceof TokenizerError && /6 tokens exceeds max_length 5 and truncation is off/.test(e.message))
  })

  test('rejects a max_length that leaves no room for text', () => {
    assert.throws(() => loadTokenizer(modelDir({}), { maxLength: 2 }), (e: unknown) => e instanceof TokenizerError && /max_length 2/.test(e.message))
  })
})

describe('batches', () => {
  const tok = loadTokenizer(modelDir({}), { maxLength: 32 })

  test('pad to the longest row of the batch with [PAD], attention 0', () => {
    const b = tok.encodeBatch(['hello', 'unaffable cats'])
    assert.equal(b.batchSize, 2)
    assert.equal(b.seqLen, 7)
    assert.deepEqual(ids(b.inputIds), [2, 5, 3, 0, 0, 0, 0, 2, 9, 10, 11, 16, 15, 3])
    assert.deepEqual(ids(b.attentionMask), [1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    assert.deepEqual(ids(b.tokenTypeIds), new Array(14).fill(0))
    assert.deepEqual(ids(b.lengths), [3, 7])
  })

  test('pairs carry token type ids, padding gets type 0', () => {
    const b = tok.encodeBatch(['hello', 'the'], ['world', 'cat dog'])
    assert.equal(b.seqLen, 6)
    assert.deepEqual(ids(b.inputIds), [2, 5, 3, 6, 3, 0, 2, 13, 3, 16, 18, 3])
    assert.deepEqual(ids(b.tokenTypeIds), [0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1])
  })

  test('collate picks rows by index from pre-tokenized examples', () => {
    const all = tok.encodeAll(['hello', 'unaffable cats', 'the cat'])
    const b = tok.collate(all, [2, 0])
    assert.equal(b.seqLen, 4)
    assert.deepEqual(ids(b.inputIds), [2, 13, 16, 3, 2, 5, 3, 0])
  })

  test('padding max_length pads every batch to max_length; lengths are reported per example', () => {
    const t = loadTokenizer(modelDir({}), { maxLength: 6, padding: 'max_length' })
    const b = t.encodeBatch(['hello', 'the cat'])
    assert.equal(b.seqLen, 6)
    assert.deepEqual(ids(b.inputIds), [2, 5, 3, 0, 0, 0, 2, 13, 16, 3, 0, 0])
    assert.deepEqual(ids(TextTokenizer.lengths(t.encodeAll(['hello', 'the cat', '']))), [3, 4, 2])
  })

  test('a non-zero pad id is used for padding', () => {
    const t = loadTokenizer(modelDir({ pad_token: '[MASK]' }), { maxLength: 32 })
    assert.equal(t.padId, 4)
    assert.deepEqual(ids(t.encodeBatch(['hello', 'the cat']).inputIds), [2, 5, 3, 4, 2, 13, 16, 3])
  })
})

describe('errors', () => {
  test('a folder without tokenizer files names what it looked for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-tok-'))
    assert.throws(() => loadTokenizer(dir), (e: unknown) => e instanceof TokenizerError && e._tag === 'TokenizerError' && /expected tokenizer\.json, or vocab\.txt/.test(e.message))
  })

  test('a vocab.txt without the [CLS] token is rejected with the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-tok-'))
    writeFileSync(join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[SEP]\nhello\n')
    assert.throws(() => loadTokenizer(dir), /cls_token "\[CLS\]" is not in vocab\.txt/)
  })

  test('a broken tokenizer.json is reported with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-tok-'))
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ')
    assert.throws(() => loadTokenizer(dir), (e: unknown) => e instanceof TokenizerError && e.message.includes(join(dir, 'tokenizer.json')) && /not valid JSON/.test(e.message))
  })
})

describe('BERT uncased parity with the Python tokenizer', () => {
  test('all 2,872 SST-2 sentences of the golden file get the reference input_ids', { skip: needsShared }, () => {
    const tok = loadTokenizer(shared('fixtures/tiny-distilbert'), { maxLength: 256 })
    const lines = readFileSync(shared('fixtures/golden/tokenizer-sst2.jsonl'), 'utf8').split('\n').filter(Boolean)
    assert.equal(lines.length, 2872)
    const mismatches: string[] = []
    for (const line of lines) {
      const ref = JSON.parse(line) as { split: string; index: number; text: string; input_ids: number[] }
      const got = ids(tok.encode(ref.text).ids)
      if (JSON.stringify(got) !== JSON.stringify(ref.input_ids)) mismatches.push(`${ref.split}#${ref.index}`)
    }
    assert.deepEqual(mismatches, [])
  })

  test('vocab.txt + tokenizer_config.json give the same ids as tokenizer.json', { skip: needsShared }, () => {
    const dir = shared('fixtures/tiny-distilbert')
    const viaJson = loadTokenizer(dir, { maxLength: 256 })
    const vocabOnly = mkdtempSync(join(tmpdir(), 'lorapipe-tok-'))
    writeFileSync(join(vocabOnly, 'vocab.txt'), readFileSync(join(dir, 'vocab.txt')))
    writeFileSync(join(vocabOnly, 'tokenizer_config.json'), readFileSync(join(dir, 'tokenizer_config.json')))
    const viaVocab = loadTokenizer(vocabOnly, { maxLength: 256 })
    assert.equal(viaVocab.vocabSize, 30522)
    const lines = readFileSync(shared('fixtures/golden/tokenizer-sst2.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 400)
    for (const line of lines) {
      const { text } = JSON.parse(line) as { text: string }
      assert.deepEqual(viaVocab.encode(text).ids, viaJson.encode(text).ids, text)
    }
  })
})
