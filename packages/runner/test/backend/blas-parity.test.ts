// Parity does not depend on the matrix-product path: the golden PyTorch logits and LoRA gradients
// of the tiny DistilBERT hold with the system BLAS and with the wasm kernels, and the 10-step AdamW
// parity test (test/trainer/parity.test.ts, which the suite runs on whatever path this machine
// takes) passes on the other path too.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs-core'
import { describeBackend, selectBackend } from '../../src/backend/select.ts'
import { loadPretrained } from '../../src/models/load.ts'
import { adapterKeyToParam, loadAdapter } from '../../src/lora/adapter.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { crossEntropy } from '../../src/nn/loss.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { maxAbsDiff } from '../models/support.ts'
import { repoRoot, needsShared, shared } from '../../../../tests/support/shared.ts'
import { loadBlas } from '../../src/backend/blas/library.ts'

const found = loadBlas({ threads: 2 })
const needsBlas: string | false = found.ok ? false : `skipped: no system BLAS (${found.why}); Debian/Ubuntu: apt-get install libopenblas0`

async function goldenDistilbert(): Promise<void> {
  const g = JSON.parse(await readFile(shared('fixtures/golden', 'distilbert-lora.json'), 'utf8'))
  const { model } = await loadPretrained(shared('fixtures', 'tiny-distilbert'))
  const ids = tf.tensor2d(g.input_ids, undefined, 'int32')
  const mask = tf.tensor2d(g.attention_mask, undefined, 'int32')
  const labels = tf.tensor1d(g.labels, 'int32')
  assert.ok(maxAbsDiff(model.forward(ids, mask).arraySync() as number[][], g.base_logits) < 1e-4, 'base logits')
  await loadAdapter(model, shared('fixtures/golden', 'lora-adapter'), { isTrainable: true })
  assert.ok(maxAbsDiff(model.forward(ids, mask).arraySync() as number[][], g.lora_logits) < 1e-4, 'LoRA logits')
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
}

describe('parity on both matrix-product paths', { skip: needsShared }, () => {
  test('DistilBERT base and LoRA logits and LoRA gradients match PyTorch with the system BLAS', { skip: needsBlas }, async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, env: {} })
    assert.ok(info.blas, describeBackend(info))
    await goldenDistilbert()
  })

  test('... and with the wasm kernels (LORAPIPE_BLAS=off)', async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
    assert.equal(info.blas, null)
    await goldenDistilbert()
  })

  test('the 10-step AdamW parity test passes with BLAS off (the suite runs it with BLAS when installed)', { skip: needsBlas }, () => {
    const file = fileURLToPath(new URL('../trainer/parity.test.ts', import.meta.url))
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
      cwd: repoRoot,
      // without NODE_TEST_CONTEXT the child reports to its own stdout, not to this runner
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), LORAPIPE_BLAS: 'off' },
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, `parity test with LORAPIPE_BLAS=off failed:\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /# pass 1\b/)
    assert.match(r.stdout, /# skipped 0\b/)
  })
})
