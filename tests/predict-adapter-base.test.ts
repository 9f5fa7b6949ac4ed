// The adapter records the base model that was actually loaded, and `lorapipe predict --adapter`
// without `--model` loads that base, as PEFT's AutoPeftModel does.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, lorapipeAsync } from './support/cli.ts'
import { startSeedHub } from './support/hub-fixture.ts'
import { needsShared, shared } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-adapter-base-'))

describe('the base model an adapter names', () => {
  test('with model.path, adapter_config.json names that folder (not model.id), and predict --adapter alone loads it', { skip: needsShared }, () => {
    const out = join(tmp(), 'run')
    const model = shared('fixtures', 'tiny-distilbert')
    const run = lorapipe([
      'run', 'pipelines/sst2-lora.yaml', '--out', out, '-q',
      '--set', `model.path=${model}`,
      '--set', `dataset.train.path=${shared('data', 'sst2', 'train.tsv')}`,
      '--set', `dataset.eval.path=${shared('data', 'sst2', 'dev.tsv')}`,
      '--set', 'dataset.train.limit=16', '--set', 'dataset.eval.limit=8',
      '--set', 'trainer.max_steps=2', '--set', 'trainer.batch_size=8', '--set', 'trainer.eval_every=2',
    ])
    assert.equal(run.code, 0, run.stderr)
    const adapter = join(out, 'adapter')
    const cfg = JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8'))
    assert.equal(cfg.base_model_name_or_path, model)

    const texts = ['--text', 'a gorgeous film', '--text', 'dull']
    const alone = lorapipe(['predict', '--adapter', adapter, ...texts])
    assert.equal(alone.code, 0, alone.stderr)
    const explicit = lorapipe(['predict', '--model', model, '--adapter', adapter, ...texts])
    assert.equal(explicit.code, 0, explicit.stderr)
    assert.equal(alone.stdout, explicit.stdout)
    assert.match(alone.stdout, /^(negative|positive)\t[01]\.\d{4}\ta gorgeous film\n(negative|positive)\t[01]\.\d{4}\tdull\n$/)
    assert.ok(alone.stderr.includes(`base model ${model} (from ${adapter}/adapter_config.json)`), alone.stderr)
  })

  test('an adapter naming a hub id loads that base from the hub and reproduces PyTorch\'s logits', { skip: needsShared }, async () => {
    const golden = JSON.parse(readFileSync(shared('fixtures', 'golden', 'distilbert-lora.json'), 'utf8'))
    const adapter = join(tmp(), 'adapter')
    cpSync(shared('fixtures', 'golden', 'lora-adapter'), adapter, { recursive: true })
    const cfg = JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8'))
    // The hub fixture serves the tiny DistilBERT the golden adapter was trained on under this id.
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ ...cfg, base_model_name_or_path: 'distilbert-base-uncased' }))
    const hub = await startSeedHub()
    try {
      const args = ['predict', '--adapter', adapter, '--json']
      for (const s of golden.sentences as string[]) args.push('--text', s)
      const r = await lorapipeAsync(args, { env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(tmp(), 'hub'), HF_HOME: tmp() } })
      assert.equal(r.code, 0, r.stderr)
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
      lines.forEach((l, i) => l.logits.forEach((v: number, j: number) => assert.ok(Math.abs(v - golden.lora_logits[i][j]) < 1e-4, `sentence ${i} logit ${j}: ${v} vs ${golden.lora_logits[i][j]}`)))
    } finally {
      await hub.close()
    }
  })

  test('--model given an adapter folder says to use --adapter', { skip: needsShared }, () => {
    const dir = shared('fixtures', 'golden', 'lora-adapter')
    const r = lorapipe(['predict', '--model', dir, '--text', 'x'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`is a PEFT adapter folder, not a model: use --adapter ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
  })

  test('an adapter whose base folder is gone says so and how to give the base', () => {
    const adapter = tmp()
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: '/nonexistent/base-model', r: 4, target_modules: ['q_lin'] }))
    const r = lorapipe(['predict', '--adapter', adapter, '--text', 'x'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /adapter_config\.json: its base model folder \/nonexistent\/base-model does not exist; give the base with --model/)
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/)
  })
})
