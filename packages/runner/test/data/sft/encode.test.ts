import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DatasetError } from '../../../src/data/index.ts'
import { collateCausalLm, describeSftStats, encodeSftRows, loadSftRows, type RowOrigin, type SftRow } from '../../../src/data/sft/index.ts'
import { loadCausalLmTokenizer, TokenizerError, type ChatMessage } from '../../../src/tokenizer/index.ts'
import { needsShared, shared } from '../../../../../tests/support/shared.ts'
import { L, LLAMA_CONFIG, TINY_TEMPLATE, tinyTokenizerDir } from '../../support/tiny-tokenizer.ts'

const X = -100
const origin = (where: number): RowOrigin => ({ file: 'data.jsonl', where, unit: 'line' })
const chatRow = (where: number, ...turns: [string, string][]): SftRow => {
  const messages: ChatMessage[] = turns.map(([role, content]) => ({ role, content }))
  return { kind: 'chat', prompt: messages.slice(0, -1), completion: messages.slice(-1), origin: origin(where) }
}
const ids = (a: Int32Array) => Array.from(a)

const tok = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: TINY_TEMPLATE }))

const err = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`)
  assert.match(e.message, re)
  return true
}

describe('chat rows', () => {
  test('the rendered conversation is encoded without adding special tokens; labels are -100 on the prompt', () => {
    // "<s>ab:c</s>": the template writes <s>; the prompt "<s>ab:" is the first four tokens.
    const { examples, stats } = encodeSftRows([chatRow(1, ['user', 'ab'], ['assistant', 'c'])], tok)
    assert.deepEqual(ids(examples[0]!.inputIds), [1, 32, L('b'), 33, L('c'), 2])
    assert.deepEqual(ids(examples[0]!.labels), [X, X, X, X, L('c'), 2])
    assert.equal(examples[0]!.promptLength, 4)
    assert.deepEqual(stats, { rows: 1, examples: 1, truncatedRows: 0, droppedRows: 0, tokens: 6, completionTokens: 2, labelledTokens: 2, longest: 6, promptMismatchRows: 0 })
  })

  test('a multi-turn conversation trains on its last assistant message only; earlier answers are prompt', () => {
    const { examples } = encodeSftRows([chatRow(1, ['user', 'a'], ['assistant', 'b'], ['user', 'c'], ['assistant', 'd'])], tok)
    // "<s>a:b</s>c:d</s>" -> <s> ▁a : b </s> ▁ c : d </s>
    assert.deepEqual(ids(examples[0]!.inputIds), [1, 32, 33, L('b'), 2, 3, L('c'), 33, L('d'), 2])
    assert.deepEqual(ids(examples[0]!.labels), [X, X, X, X, X, X, X, X, L('d'), 2])
  })

  test('with completion_only_loss false every token is labelled', () => {
    const { examples, stats } = encodeSftRows([chatRow(1, ['user', 'ab'], ['assistant', 'c'])], tok, { completionOnlyLoss: false })
    assert.deepEqual(ids(examples[0]!.labels), ids(examples[0]!.inputIds))
    assert.equal(stats.labelledTokens, 5)
  })

  test('a tokenizer without a chat template: an error saying to set tokenizer.chat_template', () => {
    const bare = loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG))
    assert.throws(() => encodeSftRows([chatRow(1, ['user', 'a'], ['assistant', 'b'])], bare), (e: unknown) => e instanceof TokenizerError && /no chat template.*set tokenizer\.chat_template in the pipeline/.test(e.message))
  })

  test("a template's raise_exception names the row, the template and its reason", () => {
    const rows = [chatRow(1, ['user', 'a'], ['assistant', 'b']), chatRow(7, ['system', 's'], ['user', 'a'], ['assistant', 'b'])]
    assert.throws(() => encodeSftRows(rows, tok), err(/^data\.jsonl:7: the chat template \(.*tokenizer_config\.json \(chat_template\)\) refuses this conversation: "System messages are not supported"/))
  })

  test('a template whose prompt text does not begin the conversation is refused, naming the template problem', () => {
    const t = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}:{% endif %}' }))
    assert.throws(
      () => encodeSftRows([chatRow(3, ['user', 'ab'], ['assistant', 'c'])], t),
      err(/^data\.jsonl:3: the chat template \(.*\) renders the prompt \(the conversation without its last message, add_generation_prompt=true\) as text that is not the beginning of the whole conversation's: they differ at character 2/),
    )
    // Training on all tokens does not need the prompt.
    assert.equal(encodeSftRows([chatRow(3, ['user', 'ab'], ['assistant', 'c'])], t, { completionOnlyLoss: false }).examples.length, 1)
  })

  test('a prompt whose last token merges with the answer is refused too (its ids are not a prefix)', () => {
    const t = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}' }))
    // "ah" -> ▁a h; "ahi" -> ▁a hi
    assert.throws(() => encodeSftRows([chatRow(2, ['user', 'ah'], ['assistant', 'i'])], t), err(/ends the prompt inside a token: .* its token 1 is "h" \(11\) where the conversation has "hi" \(30\)/))
  })
})

describe('prompt/completion and text rows, as TRL prepares them', () => {
  const pc = (where: number, prompt: string, completion: string): SftRow => ({ kind: 'prompt-completion', prompt, completion, origin: origin(where) })
  const text = (where: number, t: string): SftRow => ({ kind: 'text', text: t, origin: origin(where) })

  test('EOS is appended to the completion and both are encoded with special tokens (<s> first); the completion and EOS are labelled', () => {
    const { examples } = encodeSftRows([pc(1, 'hi:', ' ab'), pc(2, 'hi:', ' ab</s>')], tok)
    for (const e of examples) {
      assert.deepEqual(ids(e.inputIds), [1, 31, 33, 32, L('b'), 2])
      assert.deepEqual(ids(e.labels), [X, X, X, 32, L('b'), 2])
    }
  })

  test('a prompt whose tokens change when the completion follows is counted (TRL warns) and labelled after the prompt\'s token count', () => {
    // "ah" -> <s> ▁a h, "ahibc</s>" -> <s> ▁a hi b c </s>
    const { examples, stats } = encodeSftRows([pc(1, 'hi:', ' ab'), pc(4, 'ah', 'ibc')], tok)
    assert.deepEqual(ids(examples[1]!.inputIds), [1, 32, 30, L('b'), L('c'), 2])
    assert.deepEqual(ids(examples[1]!.labels), [X, X, X, L('b'), L('c'), 2])
    assert.equal(stats.promptMismatchRows, 1)
    assert.equal(stats.firstPromptMismatch, 'data.jsonl:4')
    assert.match(describeSftStats(stats, 512), /1 rows whose prompt tokens change when the completion follows \(first: data\.jsonl:4\)/)
  })

  test('text rows get EOS (once) and train on every token', () => {
    const { examples } = encodeSftRows([text(1, 'ab'), text(2, 'ab</s>')], tok)
    for (const e of examples) {
      assert.deepEqual(ids(e.inputIds), [1, 32, L('b'), 2])
      assert.deepEqual(ids(e.labels), [1, 32, L('b'), 2])
      assert.equal(e.promptLength, 0)
    }
  })

  test('a tokenizer without eos_token cannot end these rows: an error saying to set it', () => {
    const noEos = loadCausalLmTokenizer(tinyTokenizerDir({ tokenizer_class: 'PreTrainedTokenizerFast' }))
    assert.throws(() => encodeSftRows([text(1, 'ab')], noEos), (e: unknown) => e instanceof TokenizerError && /no eos_token.*set eos_token in tokenizer_config\.json/.test(e.message))
  })
})

describe('truncation to max_length', () => {
  const row = chatRow(5, ['user', 'ab'], ['assistant', 'c']) // [1, ▁a, b, :, c, </s>], prompt 4

  test('keep_start (TRL\'s default) cuts the end; the row is counted as truncated', () => {
    const { examples, stats } = encodeSftRows([row], tok, { maxLength: 5 })
    assert.deepEqual(ids(examples[0]!.inputIds), [1, 32, L('b'), 33, L('c')])
    assert.deepEqual(ids(examples[0]!.labels), [X, X, X, X, L('c')])
    assert.equal(stats.truncatedRows, 1)
    assert.equal(stats.longest, 6)
    assert.equal(stats.labelledTokens, 1)
  })

  test('keep_end cuts the start, prompt first', () => {
    const { examples } = encodeSftRows([row], tok, { maxLength: 3, truncationMode: 'keep_end' })
    assert.deepEqual(ids(examples[0]!.inputIds), [33, L('c'), 2])
    assert.deepEqual(ids(examples[0]!.labels), [X, L('c'), 2])
    assert.equal(examples[0]!.promptLength, 1)
  })

  test('a row left without a labelled token is dropped, counted and named', () => {
    // Row 1 "<s>a:b</s>" keeps <s> ▁a : b (b labelled); row 5 keeps only its prompt.
    const { examples, stats } = encodeSftRows([chatRow(1, ['user', 'a'], ['assistant', 'b']), row], tok, { maxLength: 4 })
    assert.equal(examples.length, 1)
    assert.equal(stats.droppedRows, 1)
    assert.equal(stats.firstDropped, 'data.jsonl:5')
    assert.equal(stats.examples, 1)
    assert.match(describeSftStats(stats, 4), /^2 rows: 4 tokens, 1 trained on; longest 6; 2 truncated to 4; 1 dropped \(no completion token left after truncation, first: data\.jsonl:5\)$/)
  })

  test('a bad max_length or truncation mode is refused', () => {
    assert.throws(() => encodeSftRows([row], tok, { maxLength: 1 }), (e: unknown) => e instanceof TokenizerError && /max_length must be an integer of at least 2/.test(e.message))
    assert.throws(() => encodeSftRows([row], tok, { truncationMode: 'middle' as 'keep_end' }), (e: unknown) => e instanceof TokenizerError && /truncation_mode must be keep_start or keep_end/.test(e.message))
  })
})

describe('parity with transformers + TRL on the SST-2 instruction data (tiny-llama)', () => {
  test('all 4,872 rows get the reference input_ids and prompt_length (golden/llama-tokenizer-sst2-sft.jsonl)', { skip: needsShared }, async () => {
    const llama = loadCausalLmTokenizer(shared('fixtures/tiny-llama'))
    const golden = readFileSync(shared('fixtures/golden/llama-tokenizer-sst2-sft.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { split: string; index: number; input_ids: number[]; prompt_length: number })
    assert.equal(golden.length, 4872)
    const mismatches: string[] = []
    let labelled = 0
    for (const split of ['dev', 'train']) {
      const set = await loadSftRows({ path: shared(`data/sst2-sft/${split}.jsonl`) })
      const { examples, stats } = encodeSftRows(set.rows, llama, { maxLength: 512 })
      const ref = golden.filter((g) => g.split === split)
      assert.equal(examples.length, ref.length)
      assert.equal(stats.truncatedRows + stats.droppedRows, 0)
      examples.forEach((e, i) => {
        if (JSON.stringify(ids(e.inputIds)) !== JSON.stringify(ref[i]!.input_ids) || e.promptLength !== ref[i]!.prompt_length) mismatches.push(`${split}#${i}`)
        const completion = ref[i]!.input_ids.slice(ref[i]!.prompt_length)
        assert.deepEqual(ids(e.labels), [...new Array(ref[i]!.prompt_length).fill(X), ...completion])
      })
      labelled += stats.labelledTokens
    }
    assert.deepEqual(mismatches, [])
    assert.equal(labelled, golden.reduce((n, g) => n + g.input_ids.length - g.prompt_length, 0))
  })

  test('the six chat examples collate to the batch of golden/llama-sft.json: right padding with 0, mask, labels -100 on prompt and padding', { skip: needsShared }, async () => {
    const llama = loadCausalLmTokenizer(shared('fixtures/tiny-llama'))
    const ref = JSON.parse(readFileSync(shared('fixtures/golden/llama-sft.json'), 'utf8')) as {
      input_ids: number[][]
      attention_mask: number[][]
      labels: number[][]
      pad_token_id: number
      prompt_lengths: number[]
      lengths: number[]
      label_tokens_per_example: number[]
    }
    const set = await loadSftRows({ path: shared('data/sst2-sft/dev.jsonl'), limit: 6 })
    const { examples } = encodeSftRows(set.rows, llama)
    assert.equal(llama.padId, ref.pad_token_id)
    const batch = collateCausalLm(examples, llama.padId)
    const rows = (a: Int32Array) => Array.from({ length: batch.batchSize }, (_, r) => ids(a.subarray(r * batch.seqLen, (r + 1) * batch.seqLen)))
    assert.deepEqual(rows(batch.inputIds), ref.input_ids)
    assert.deepEqual(rows(batch.attentionMask), ref.attention_mask)
    assert.deepEqual(rows(batch.labels), ref.labels)
    assert.deepEqual(examples.map((e) => e.promptLength), ref.prompt_lengths)
    assert.deepEqual(ids(batch.lengths), ref.lengths)
    assert.equal(batch.labelledTokens, ref.label_tokens_per_example.reduce((a, b) => a + b, 0))
  })
})
