// The models compute token-wise layers on the real tokens only (nn/token-layout.ts). Padding must
// change nothing: logits and gradients of a padded batch equal those of each sequence run alone,
// and left padding (where transformers reads a padded position) stays exact.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { BATCH, TINY_BERT, TINY_DISTILBERT, maxAbsDiff, referenceBert, referenceDistilbert, useBackend } from './support.ts'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomModel } from '../../src/models/load.ts'
import type { SequenceClassifier } from '../../src/models/classifier.ts'
import { injectLora, loraSettings } from '../../src/lora/index.ts'
import { TokenLayout } from '../../src/nn/token-layout.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { crossEntropy } from '../../src/nn/loss.ts'
import { Rng } from '../../src/nn/rng.ts'
import '../../src/nn/register-gradients.ts'

before(() => useBackend('wasm'))

function withLora(config: object, targets: string[], seed: number): SequenceClassifier {
  const model = createRandomModel(parseModelConfig(config), { seed })
  const lora = injectLora(model, loraSettings({ r: 2, alpha: 4, target_modules: targets }), { seed })
  const rng = new Rng(seed + 1)
  for (const l of lora.layers.values()) l.B.assign(rng.fillNormal(l.B.size, 0, 0.3))
  return model
}

/** loss (mean cross-entropy) and gradients of a batch */
function lossAndGrads(model: SequenceClassifier, ids: number[][], mask: number[][], labels: number[]): { loss: number; grads: Map<string, number[]> } {
  const i = tf.tensor2d(ids, undefined, 'int32')
  const m = tf.tensor2d(mask, undefined, 'int32')
  const y = tf.tensor1d(labels, 'int32')
  const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(i, m), y), model.trainableParameters())
  const g = new Map([...grads].map(([k, t]) => [k, Array.from(t.dataSync())]))
  const loss = value.dataSync()[0]!
  tf.dispose([i, m, y, value, ...grads.values()])
  return { loss, grads: g }
}

describe('unpadded execution', () => {
  test('a padded batch has the loss and gradients of its sequences run one by one', () => {
    for (const [config, targets] of [
      [TINY_DISTILBERT, ['q_lin', 'v_lin', 'lin1']],
      [TINY_BERT, ['query', 'value', 'dense']],
    ] as const) {
      const model = withLora(config, [...targets], 5)
      const batch = lossAndGrads(model, BATCH.ids, BATCH.mask, BATCH.labels.map((l) => l % 2))
      // each sequence alone, cut to its length: no padding at all
      let loss = 0
      const sum = new Map<string, number[]>()
      BATCH.ids.forEach((row, r) => {
        const n = BATCH.mask[r]!.filter((v) => v !== 0).length
        const one = lossAndGrads(model, [row.slice(0, n)], [BATCH.mask[r]!.slice(0, n)], [BATCH.labels[r]! % 2])
        loss += one.loss / BATCH.ids.length
        for (const [k, g] of one.grads) sum.set(k, (sum.get(k) ?? g.map(() => 0)).map((v, i) => v + g[i]! / BATCH.ids.length))
      })
      assert.ok(Math.abs(batch.loss - loss) < 1e-5, `loss ${batch.loss} vs ${loss}`)
      assert.ok(batch.grads.size > 4)
      for (const [k, g] of batch.grads) {
        const ref = sum.get(k)!
        g.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) <= 1e-5 + 1e-3 * Math.abs(ref[i]!), `${k}[${i}]: ${v} vs ${ref[i]}`))
      }
      model.dispose()
    }
  })

  test('left padding (position 0 padded) matches the float64 reference', () => {
    const ids = [
      [0, 0, 0, 1, 30, 31, 2],
      [1, 5, 9, 13, 2, 0, 0],
    ]
    const mask = [
      [0, 0, 0, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 0, 0],
    ]
    const d = createRandomModel(parseModelConfig(TINY_DISTILBERT), { seed: 3 })
    const b = createRandomModel(parseModelConfig(TINY_BERT), { seed: 4 })
    const run = (m: SequenceClassifier) =>
      tf.tidy(() => m.forward(tf.tensor2d(ids, undefined, 'int32'), tf.tensor2d(mask, undefined, 'int32')).arraySync() as number[][])
    const refD = referenceDistilbert(TINY_DISTILBERT, (n) => d.parameter(n).read(), ids, mask, 3)
    const refB = referenceBert(TINY_BERT, (n) => b.parameter(n).read(), ids, mask, null, 2)
    assert.ok(maxAbsDiff(run(d), refD) < 1e-5, `DistilBERT diff ${maxAbsDiff(run(d), refD)}`)
    assert.ok(maxAbsDiff(run(b), refB) < 1e-5, `BERT diff ${maxAbsDiff(run(b), refB)}`)
    d.dispose()
    b.dispose()
  })

  test('the token layout packs real tokens, keeps their positions, and places them back with zeros', () => {
    const mask = tf.tensor2d([[1, 1, 0], [1, 0, 1]], undefined, 'int32')
    const t = TokenLayout.fromMask(mask)
    assert.equal(t.dense, false)
    assert.equal(t.count, 4)
    assert.deepEqual(Array.from(t.rows!.dataSync()), [0, 1, 3, 5])
    assert.deepEqual(Array.from(t.positions.dataSync()), [0, 1, 0, 2])
    assert.deepEqual(Array.from(t.firstRows.dataSync()), [0, 2])
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]])
    assert.deepEqual(t.toPadded(x).arraySync(), [[[1, 2], [3, 4], [0, 0]], [[5, 6], [0, 0], [7, 8]]])
    assert.deepEqual(t.toRows(t.toPadded(x)).arraySync(), x.arraySync())
    assert.deepEqual(t.firstTokens(x).arraySync(), [[1, 2], [5, 6]])
    // gradients: placing then weighting gives back the weights of the real positions
    const w = tf.tensor3d([[[1, -1], [2, -2], [9, 9]], [[3, -3], [9, 9], [4, -4]]])
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(t.toPadded(xx), w)))(x)
    assert.deepEqual(g.arraySync(), [[1, -1], [2, -2], [3, -3], [4, -4]])
    const g2 = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(t.toRows(ww), x)))(w)
    assert.deepEqual(g2.arraySync(), [[[1, 2], [3, 4], [0, 0]], [[5, 6], [0, 0], [7, 8]]])
    t.dispose()
    const dense = TokenLayout.fromMask(tf.tensor2d([[0, 1], [1, 1]], undefined, 'int32'))
    assert.equal(dense.dense, true)
    assert.equal(dense.count, 4)
    assert.deepEqual(Array.from(dense.firstRows.dataSync()), [0, 2])
    dense.dispose()
  })
})
