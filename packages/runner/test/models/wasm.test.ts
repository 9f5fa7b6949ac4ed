// The same numerics on the wasm backend (the one training runs on).
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import * as tf from '@tensorflow/tfjs-core'
import { BATCH, TINY_BERT, maxAbsDiff, referenceBert, useBackend } from './support.ts'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomModel, loadPretrained } from '../../src/models/load.ts'
import { loadAdapter, adapterKeyToParam } from '../../src/lora/adapter.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { crossEntropy } from '../../src/nn/loss.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

before(() => useBackend('wasm'))

describe('wasm backend', () => {
  test('runs on wasm', () => assert.equal(tf.getBackend(), 'wasm'))

  test('BERT logits match the float64 reference within 1e-5', () => {
    const model = createRandomModel(parseModelConfig(TINY_BERT), { seed: 2 })
    const ids = tf.tensor2d(BATCH.ids, undefined, 'int32')
    const mask = tf.tensor2d(BATCH.mask, undefined, 'int32')
    const types = tf.tensor2d(BATCH.tokenTypes, undefined, 'int32')
    const out = model.forward(ids, mask, types).arraySync() as number[][]
    const ref = referenceBert(TINY_BERT, (n) => model.parameter(n).read(), BATCH.ids, BATCH.mask, BATCH.tokenTypes, 2)
    assert.ok(maxAbsDiff(out, ref) < 1e-5, `diff ${maxAbsDiff(out, ref)}`)
    model.dispose()
  })

  for (const [name, folder, golden, adapter] of [
    ['DistilBERT', 'tiny-distilbert', 'distilbert-lora.json', 'lora-adapter'],
    ['BERT', 'tiny-bert', 'bert-lora.json', 'bert-lora-adapter'],
  ] as const) {
    test(`${name}: base and LoRA logits and LoRA gradients match PyTorch`, { skip: needsShared }, async () => {
      const g = JSON.parse(await readFile(shared('fixtures/golden', golden), 'utf8'))
      const { model } = await loadPretrained(shared('fixtures', folder))
      const ids = tf.tensor2d(g.input_ids, undefined, 'int32')
      const mask = tf.tensor2d(g.attention_mask, undefined, 'int32')
      const labels = tf.tensor1d(g.labels, 'int32')
      assert.ok(maxAbsDiff(model.forward(ids, mask).arraySync() as number[][], g.base_logits) < 1e-4)
      await loadAdapter(model, shared('fixtures/golden', adapter), { isTrainable: true })
      assert.ok(maxAbsDiff(model.forward(ids, mask).arraySync() as number[][], g.lora_logits) < 1e-4)
      const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(ids, mask), labels), model.trainableParameters())
      const gold = await readSafetensors(shared(g.grads_file))
      for (const [key, t] of gold.tensors) {
        const d = grads.get(adapterKeyToParam(key))!.dataSync()
        for (let i = 0; i < t.data.length; i++) {
          const err = Math.abs(d[i]! - t.data[i]!)
          assert.ok(err <= 1e-6 || err <= 1e-3 * Math.abs(t.data[i]!), `${key}[${i}]: ${d[i]} vs ${t.data[i]}`)
        }
      }
      tf.dispose([value, ids, mask, labels, ...grads.values()])
      model.dispose()
    })
  }
})
