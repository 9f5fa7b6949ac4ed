import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { collateCausalLm, encodeSftRows, loadSftRows, packExamples, type SftExample } from '../../../src/data/sft/index.ts'
import { loadCausalLmTokenizer } from '../../../src/tokenizer/index.ts'
import { needsShared, shared } from '../../../../../tests/support/shared.ts'

const X = -100
const ids = (a: Int32Array) => Array.from(a)
const rowsOf = (a: Int32Array, seqLen: number) => Array.from({ length: a.length / seqLen }, (_, r) => ids(a.subarray(r * seqLen, (r + 1) * seqLen)))

/** An example with the given ids; the first `prompt` labels are -100. */
function example(inputIds: number[], prompt = 0, where = 1): SftExample {
  const labels = inputIds.map((t, i) => (i < prompt ? X : t))
  return { inputIds: Int32Array.from(inputIds), labels: Int32Array.from(labels), promptLength: prompt, origin: { file: 'd.jsonl', where, unit: 'line' } }
}

describe('collation (TRL\'s DataCollatorForLanguageModeling)', () => {
  test('pads on the right with the pad id, mask 0 and label -100; positions count on through padding', () => {
    const b = collateCausalLm([example([5, 6, 7], 1), example([8, 9])], 0)
    assert.equal(b.seqLen, 3)
    assert.deepEqual(rowsOf(b.inputIds, 3), [[5, 6, 7], [8, 9, 0]])
    assert.deepEqual(rowsOf(b.attentionMask, 3), [[1, 1, 1], [1, 1, 0]])
    assert.deepEqual(rowsOf(b.labels, 3), [[X, 6, 7], [8, 9, X]])
    assert.deepEqual(rowsOf(b.positionIds, 3), [[0, 1, 2], [0, 1, 2]])
    assert.deepEqual(rowsOf(b.segmentIds, 3), [[1, 1, 1], [1, 1, 0]])
    assert.deepEqual(ids(b.lengths), [3, 2])
  })

  test('counts the labelled tokens the shifted loss uses (never the first position)', () => {
    // row 1: 6, 7 (position 0 is prompt); row 2: 9 only (8 at position 0 predicts nothing)
    assert.equal(collateCausalLm([example([5, 6, 7], 1), example([8, 9])], 0).labelledTokens, 3)
  })

  test('pads with a non-zero id (e.g. eos as TRL does when there is no pad token) and to a multiple', () => {
    const b = collateCausalLm([example([5, 6, 7]), example([8])], 2, { padToMultipleOf: 4 })
    assert.equal(b.seqLen, 4)
    assert.deepEqual(rowsOf(b.inputIds, 4), [[5, 6, 7, 2], [8, 2, 2, 2]])
    assert.deepEqual(rowsOf(b.labels, 4), [[5, 6, 7, X], [8, X, X, X]])
  })

  test('takes rows by index', () => {
    const all = [example([1]), example([2, 3]), example([4, 5, 6])]
    assert.deepEqual(rowsOf(collateCausalLm(all, 0, { indices: [2, 0] }).inputIds, 3), [[4, 5, 6], [1, 0, 0]])
  })
})

describe('packing by best-fit decreasing (TRL\'s packing_strategy "bfd")', () => {
  test("reproduces TRL's own example: [1..5] (truncated to 4), [6,7], [8,9,10], [11] into [[1,2,3,4], [8,9,10,11], [6,7]]", () => {
    const { sequences, stats } = packExamples([example([1, 2, 3, 4]), example([6, 7]), example([8, 9, 10]), example([11])], 4)
    assert.deepEqual(sequences.map((s) => ids(s.inputIds)), [[1, 2, 3, 4], [8, 9, 10, 11], [6, 7]])
    assert.deepEqual(sequences.map((s) => ids(s.segments!)), [[4], [3, 1], [2]])
    assert.deepEqual(stats, { examples: 4, sequences: 3, fill: 10 / 12 })
  })

  test('puts each example where the least room is left, and among equal rooms into the one that had it first', () => {
    // lengths 6, 5, 4, 3, 3, 2 into 8: 6 -> A (room 2), 5 -> B (3), 4 -> C (4), 3 -> B (0), 3 -> C (1), 2 -> A (0)
    const lens = [3, 6, 2, 5, 4, 3]
    const ex = lens.map((n, i) => example(Array.from({ length: n }, (_, k) => 10 * (i + 1) + k), 0, i + 1))
    const { sequences } = packExamples(ex, 8)
    assert.deepEqual(sequences.map((s) => ids(s.segments!)), [[6, 2], [5, 3], [4, 3]])
    // Ties in length keep row order: the 3 of row 1 goes before the 3 of row 6.
    assert.deepEqual(sequences.map((s) => s.inputIds[0]! / 10 | 0), [2, 4, 5])
    assert.equal(sequences[1]!.inputIds[5], 10)
    assert.equal(sequences[2]!.inputIds[4], 60)
    // Two sequences with room 2: the 2 goes into the first.
    const fifo = packExamples([example([1, 1, 1, 1, 1]), example([2, 2, 2, 2, 2]), example([3, 3])], 7)
    assert.deepEqual(fifo.sequences.map((s) => ids(s.inputIds)), [[1, 1, 1, 1, 1, 3, 3], [2, 2, 2, 2, 2]])
  })

  test('every packed example keeps its tokens; its first label is -100 so it is not predicted from the previous one', () => {
    const { sequences } = packExamples([example([1, 2, 3], 1), example([4, 5])], 8)
    assert.deepEqual(ids(sequences[0]!.inputIds), [1, 2, 3, 4, 5])
    assert.deepEqual(ids(sequences[0]!.labels), [X, 2, 3, X, 5])
  })

  test('collated, positions restart at each example and segment ids keep the examples apart', () => {
    const { sequences } = packExamples([example([1, 2, 3], 1), example([4, 5]), example([6, 7, 8, 9])], 5)
    const b = collateCausalLm(sequences, 0)
    assert.deepEqual(rowsOf(b.inputIds, 5), [[6, 7, 8, 9, 0], [1, 2, 3, 4, 5]])
    assert.deepEqual(rowsOf(b.positionIds, 5), [[0, 1, 2, 3, 4], [0, 1, 2, 0, 1]])
    assert.deepEqual(rowsOf(b.segmentIds, 5), [[1, 1, 1, 1, 0], [1, 1, 1, 2, 2]])
    assert.deepEqual(rowsOf(b.attentionMask, 5), [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    assert.deepEqual(rowsOf(b.labels, 5), [[X, 7, 8, 9, X], [X, 2, 3, X, 5]])
    // The same tokens are labelled as when the examples are batched one by one.
    const plain = collateCausalLm([example([1, 2, 3], 1), example([4, 5]), example([6, 7, 8, 9])], 0)
    assert.equal(b.labelledTokens, plain.labelledTokens)
  })

  test('an example longer than max_length must be truncated first', () => {
    assert.throws(() => packExamples([example([1, 2, 3])], 2), /an example of 3 tokens \(d\.jsonl:1\) is longer than max_length 2; truncate before packing/)
  })

  test('the SST-2 dev rows pack into blocks of 256 with every example once and none over the limit', { skip: needsShared }, async () => {
    const tok = loadCausalLmTokenizer(shared('fixtures/tiny-llama'))
    const set = await loadSftRows({ path: shared('data/sst2-sft/dev.jsonl'), limit: 200 })
    const { examples, stats } = encodeSftRows(set.rows, tok, { maxLength: 256 })
    const packed = packExamples(examples, 256)
    assert.ok(packed.sequences.every((s) => s.inputIds.length <= 256))
    assert.equal(packed.sequences.reduce((n, s) => n + s.segments!.length, 0), examples.length)
    assert.equal(packed.sequences.reduce((n, s) => n + s.inputIds.length, 0), stats.tokens)
    assert.ok(packed.stats.fill > 0.9, `fill ${packed.stats.fill}`)
    // Packing leaves the labelled tokens as they are: each example's first token is prompt anyway.
    assert.equal(collateCausalLm(packed.sequences, tok.padId).labelledTokens, stats.labelledTokens)
  })
})
