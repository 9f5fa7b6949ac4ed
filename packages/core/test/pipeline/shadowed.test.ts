// Overrides that another setting makes ineffective (transformers' rules: max_steps over epochs,
// warmup_steps over warmup_ratio) are warnings, in every stage they would reach; best.yaml
// suggests the setting that takes effect.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { setOverrides, shadowedKeys, shadowedOverrides } from '../../src/pipeline/sections/shadowed.ts'
import { trainerSchema } from '../../src/pipeline/sections/trainer.ts'
import { trainLonger } from '../../src/sweep/coordinator/best.ts'
import { loadOk, minimalJob, writeFiles } from '../support.ts'

describe('shadowed settings', () => {
  it('names keys of the trainer section, each shadowed by another of its keys', () => {
    for (const r of shadowedKeys) {
      assert.ok(r.key in trainerSchema.properties && r.by in trainerSchema.properties, `${r.key} / ${r.by}`)
    }
  })

  it('warns for `--set trainer.epochs` under max_steps and `trainer.warmup_ratio` under warmup_steps > 0, only then', async () => {
    const sets = ['trainer.max_steps=10', 'trainer.epochs=5', 'trainer.warmup_ratio=0.1']
    const dir = writeFiles({ 'p.yaml': minimalJob })
    const p = await loadOk(join(dir, 'p.yaml'), { sets })
    const ws = shadowedOverrides(p, setOverrides(sets))
    assert.deepEqual(ws.map((w) => [w.severity, w.location?.file, w.message.split(':')[0]]), [['warning', '--set trainer.epochs=5', '`--set trainer.epochs=5` has no effect']])
    const steps = ['trainer.warmup_steps=4', 'trainer.warmup_ratio=0.1']
    const q = await loadOk(join(dir, 'p.yaml'), { sets: steps })
    assert.match(shadowedOverrides(q, setOverrides(steps))[0]!.message, /`trainer\.warmup_steps` is 4 \(warmup_steps > 0 wins over warmup_ratio/)
    const fine = ['trainer.epochs=5', 'trainer.warmup_steps=0', 'trainer.warmup_ratio=0.1']
    assert.deepEqual(shadowedOverrides(await loadOk(join(dir, 'p.yaml'), { sets: fine }), setOverrides(fine)), [])
  })

  it("in a multi-stage pipeline, a stage's own path is checked against that stage", async () => {
    const dir = writeFiles({
      'p.yaml': `name: two
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin, v_lin] }
dataset: { text_column: sentence, train: { path: train.tsv }, eval: { path: dev.tsv } }
trainer: { epochs: 1 }
stages:
  short: { uses: finetune, with: { trainer: { max_steps: 5 } } }
  long: { uses: finetune }
`,
    })
    const p = await loadOk(join(dir, 'p.yaml'))
    const ws = shadowedOverrides(p, [
      { path: 'stages.short.with.trainer.epochs', what: 'a' },
      { path: 'stages.long.with.trainer.epochs', what: 'b' },
      { path: 'trainer.epochs', what: 'c' },
    ])
    assert.deepEqual(ws.map((w) => w.message), [
      "a has no effect in stage `short`: `stages.short.with.trainer.max_steps` is 5 (max_steps overrides epochs, as transformers' max_steps overrides num_train_epochs)",
      "c has no effect in stage `short`: `stages.short.with.trainer.max_steps` is 5 (max_steps overrides epochs, as transformers' max_steps overrides num_train_epochs)",
    ])
  })

  it("best.yaml's header suggests the setting that trains longer and takes effect", () => {
    assert.equal(trainLonger({ trainer: { epochs: 2 } }), 'trainer.epochs=4')
    assert.equal(trainLonger({ trainer: { epochs: 3, max_steps: 60 } }), 'trainer.max_steps=120')
    assert.equal(trainLonger({ stages: { lora: { uses: 'finetune', with: { trainer: { epochs: 1, max_steps: 6 } } } } }), 'stages.lora.with.trainer.max_steps=12')
    assert.equal(trainLonger({ stages: { train: { uses: './bow.ts', with: { epochs: 2 } } } }), undefined)
  })
})
