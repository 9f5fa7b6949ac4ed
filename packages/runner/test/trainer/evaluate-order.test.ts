// Evaluation batches examples of similar length together (less padding) and still reports
// predictions in the split's order, with the same loss and metrics as one example at a time.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPretrained } from '../../src/models/load.ts'
import { evaluateSplit, lengthOrder, type Collator } from '../../src/trainer/evaluate.ts'
import type { Batch, Encoded } from '../../src/tokenizer/tokenizer.ts'
import { Predictor } from '../../src/predict/predict.ts'
import { encodeSplit, sentences, tinyTokenizer, useTestBackend, writeTinyModel } from './support.ts'

let dir = ''
before(async () => {
  await useTestBackend('cpu')
  dir = mkdtempSync(join(tmpdir(), 'eval-order-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

describe('evaluation batched by length', () => {
  test('lengthOrder sorts by length and keeps ties in their original order', () => {
    const e = (n: number) => ({ ids: new Int32Array(n) })
    assert.deepEqual(Array.from(lengthOrder([e(5), e(2), e(5), e(1), e(2)])), [3, 1, 4, 0, 2])
  })

  test('predictions come back in the split order and equal one-at-a-time evaluation; batches are by length', async () => {
    const folder = await writeTinyModel(join(dir, 'model'), 3)
    const { model } = await loadPretrained(folder)
    const tok = tinyTokenizer(folder)
    const split = encodeSplit(tok, sentences(37, 5))
    const seqLens: number[][] = []
    const recording: Collator = {
      collate(examples: readonly Encoded[], indices?: ArrayLike<number>): Batch {
        const b = tok.collate(examples, indices)
        seqLens.at(-1)!.push(b.seqLen)
        return b
      },
    }
    seqLens.push([])
    const batched = evaluateSplit(model, split, recording, 8)
    seqLens.push([])
    const single = evaluateSplit(model, split, recording, 1)
    assert.deepEqual(Array.from(batched.predictions), Array.from(single.predictions))
    assert.ok(Math.abs(batched.loss - single.loss) < 1e-6, `loss ${batched.loss} vs ${single.loss}`)
    assert.equal(batched.accuracy, single.accuracy)
    assert.equal(batched.f1, single.f1)
    // 37 examples of 8: five batches, padded to lengths that never decrease
    const lens = seqLens[0]!
    assert.equal(lens.length, 5)
    assert.deepEqual(lens, [...lens].sort((a, b) => a - b))
    const lengths = split.encoded.map((x) => x.ids.length)
    assert.equal(lens.at(-1), Math.max(...lengths))
    assert.ok(lens[0]! < Math.max(...lengths), 'the shortest examples are batched together')
    model.dispose()
  })

  test('predict batches texts by length and returns them in the order given, as one at a time', async () => {
    const folder = await writeTinyModel(join(dir, 'predict-model'), 4)
    const texts = sentences(11, 9).map((r) => r.sentence)
    texts.splice(3, 0, 'good', 'the movie was really quite good and the acting was fine and the story was fun')
    const batched = (await Predictor.load(folder, { batchSize: 4 })).predict(texts)
    const single = (await Predictor.load(folder, { batchSize: 1 })).predict(texts)
    assert.deepEqual(batched.map((p) => p.text), texts)
    batched.forEach((p, i) => {
      assert.equal(p.labelId, single[i]!.labelId, `text ${i}`)
      p.logits.forEach((v, k) => assert.ok(Math.abs(v - single[i]!.logits[k]!) < 1e-5, `text ${i} logit ${k}: ${v} vs ${single[i]!.logits[k]}`))
    })
  })
})
