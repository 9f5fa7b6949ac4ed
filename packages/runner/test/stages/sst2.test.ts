// A short LoRA training of the tiny DistilBERT fixture on the real SST-2 data (../shared): the
// training loss falls, evaluation runs on the dev split, and only LoRA and head weights are saved.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunMetrics } from '@lorapipe/core'
import { selectBackend } from '../../src/backend/select.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { finetuneSpec } from '@lorapipe/core/stage/builtins.ts'
import { runFinetune } from '../../src/stages/finetune.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'
import { stageContext } from './support.ts'

let dir = ''
before(async () => {
  // wasm: the embedding of the real 30,522-token vocabulary is slow on the pure-JS cpu backend
  await selectBackend({ backend: 'wasm' })
  dir = mkdtempSync(join(tmpdir(), 'sst2-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('LoRA on real SST-2 with the tiny DistilBERT: the training loss falls and evaluation runs', { skip: needsShared }, async () => {
  const out = await runFinetune(
    withDefaults(finetuneSpec.params, {
      model: { path: shared('fixtures/tiny-distilbert'), num_labels: 2 },
      lora: { target_modules: ['q_lin', 'v_lin'], r: 8, alpha: 16, dropout: 0.05, modules_to_save: ['pre_classifier', 'classifier'] },
      dataset: {
        text_column: 'sentence',
        label_column: 'label',
        train: { path: shared('data/sst2/train.tsv'), shuffle: true, seed: 42, limit: 128 },
        eval: { path: shared('data/sst2/dev.tsv'), limit: 128 },
      },
      tokenizer: { max_length: 64 },
      trainer: { max_steps: 48, batch_size: 16, eval_batch_size: 64, learning_rate: 2e-2, warmup_ratio: 0.1, log_every: 8, eval_every: 24 },
    }),
    stageContext(dir, { runtime: { backend: 'wasm' } }),
  )
  const m: RunMetrics = JSON.parse(readFileSync(out.metrics, 'utf8'))
  const losses = m.history.train.map((r) => r.loss)
  assert.equal(losses.length, 6)
  assert.ok(losses.at(-1)! < losses[0]! - 0.03, `training loss by 8 steps (one epoch): ${losses.map((l) => l.toFixed(4)).join(', ')}`)
  assert.deepEqual(m.history.eval.map((e) => e.step), [24, 48])
  assert.ok(m.eval.accuracy! > 0 && m.eval.accuracy! <= 1 && Number.isFinite(m.eval.loss) && m.eval.samples_per_s > 0)
  assert.equal(m.trainable_params, 4 * (8 * 32 + 32 * 8) + 32 * 32 + 32 + 2 * 32 + 2)
  const keys = [...(await readSafetensors(join(out.adapter_dir!, 'adapter_model.safetensors'))).tensors.keys()]
  assert.equal(keys.length, 8 + 4)
})
