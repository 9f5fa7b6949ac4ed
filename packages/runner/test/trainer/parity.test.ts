// Training parity with PyTorch: 10 AdamW steps from the golden adapter on the tiny DistilBERT give
// the LoRA and head weights that ../fixtures/parity/make_parity.py computed with torch (within 1e-4).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPretrained } from '../../src/models/load.ts'
import { injectLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import { adapterKeyToParam, initFromAdapter } from '../../src/lora/adapter.ts'
import { loadTokenizer } from '../../src/tokenizer/load.ts'
import { readSafetensorsSync } from '../../src/safetensors/read.ts'
import { trainerSchema } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { train } from '../../src/trainer/loop.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'
import { useTestBackend } from './support.ts'

const FIXTURE = new URL('../fixtures/parity/', import.meta.url).pathname
let dir = ''
before(async () => {
  await useTestBackend('wasm')
  dir = mkdtempSync(join(tmpdir(), 'parity-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('10 AdamW steps (weight decay, linear warmup, clipping) match PyTorch within 1e-4', { skip: needsShared }, async () => {
  const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8'))
  const s = expected.settings
  // The fixture model with dropout 0 (the script's setting), weights shared by a link.
  const model = join(dir, 'model')
  const cfg = JSON.parse(readFileSync(shared('fixtures/tiny-distilbert/config.json'), 'utf8'))
  const { mkdirSync } = await import('node:fs')
  mkdirSync(model)
  writeFileSync(join(model, 'config.json'), JSON.stringify({ ...cfg, dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 }))
  symlinkSync(shared('fixtures/tiny-distilbert/model.safetensors'), join(model, 'model.safetensors'))
  const { model: m } = await loadPretrained(model)
  const lora = injectLora(m, loraSettings({ r: s.r, alpha: s.alpha, target_modules: ['q_lin', 'v_lin'], modules_to_save: ['pre_classifier', 'classifier'] }))
  await initFromAdapter(lora, shared('fixtures/golden/lora-adapter'))

  const golden = JSON.parse(readFileSync(shared('fixtures/golden/distilbert-lora.json'), 'utf8'))
  const encoded = (golden.input_ids as number[][]).map((ids, i) => {
    const len = (golden.attention_mask[i] as number[]).reduce((a, b) => a + b, 0)
    return { ids: Int32Array.from(ids.slice(0, len)), typeIds: new Int32Array(len) }
  })
  const r = await train({
    model: m,
    train: { encoded, labels: Int32Array.from(golden.labels) },
    collator: loadTokenizer(shared('fixtures/tiny-distilbert')),
    trainer: withDefaults(trainerSchema, { max_steps: s.steps, batch_size: s.batch_size, learning_rate: s.lr, weight_decay: s.weight_decay, warmup_steps: s.warmup_steps, max_grad_norm: s.max_grad_norm, log_every: 1 }),
    seed: 0,
    shuffle: false,
  })
  r.history.train.forEach((rec, i) => {
    assert.ok(Math.abs(rec.loss - expected.losses[i]) < 1e-5, `loss at step ${i + 1}: ${rec.loss} vs ${expected.losses[i]}`)
    assert.ok(Math.abs(rec.grad_norm! - expected.grad_norms[i]) < 1e-5, `grad norm at step ${i + 1}: ${rec.grad_norm} vs ${expected.grad_norms[i]}`)
  })
  const want = readSafetensorsSync(join(FIXTURE, 'expected.safetensors')).tensors
  assert.equal(want.size, m.trainableParameters().length)
  let worst = 0
  for (const [key, t] of want) {
    const mine = m.parameter(adapterKeyToParam(key)).read()
    for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(mine[i]! - t.data[i]!))
  }
  assert.ok(worst < 1e-4, `largest weight difference ${worst}`)
  // and the weights did move: the test would catch a trainer that does nothing
  const start = readSafetensorsSync(shared('fixtures/golden/lora-adapter/adapter_model.safetensors')).tensors
  const moved = [...want].map(([k, t]) => Math.max(...Array.from(t.data, (v, i) => Math.abs(v - start.get(k)!.data[i]!))))
  assert.ok(moved.every((d) => d > 1e-3), 'every trained tensor moved')
  m.dispose()
})
