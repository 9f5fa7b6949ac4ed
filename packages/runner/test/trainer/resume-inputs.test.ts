// A resumed fine-tuning run trains on the data and model it started with: files whose sha256
// (recorded in manifest.json) changed since are refused, naming the file.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selectBackend } from '../../src/backend/select.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { finetuneSpec } from '@lorapipe/core/stage/builtins.ts'
import { runFinetune } from '../../src/stages/finetune.ts'
import { sha256File, type Manifest } from '../../src/trainer/manifest.ts'
import { changedInputs } from '../../src/trainer/resume-inputs.ts'
import { stageContext } from '../stages/support.ts'
import { sentences, writeTinyModel, writeTsv } from './support.ts'

let root = ''
before(async () => {
  await selectBackend({ backend: 'cpu' })
  root = mkdtempSync(join(tmpdir(), 'resume-inputs-'))
})
after(() => rmSync(root, { recursive: true, force: true }))

describe('changedInputs', () => {
  test('names each weight or data file that changed or is gone, and nothing when all match', async () => {
    const files = ['model.safetensors', 'train.tsv', 'dev.tsv'].map((f) => join(root, f))
    for (const f of files) writeFileSync(f, `content of ${f}\n`)
    const [w, t, d] = await Promise.all(files.map(sha256File))
    const manifest = { model: { weights: [w!] }, dataset: { splits: [{ split: 'train', files: [t!] }, { split: 'eval', files: [d!] }] } } as unknown as Manifest
    assert.deepEqual(await changedInputs(manifest), [])
    appendFileSync(files[1]!, 'one more row\n')
    rmSync(files[2]!)
    const problems = await changedInputs(manifest)
    assert.equal(problems.length, 2)
    assert.match(problems[0]!, /train\.tsv has changed since the run started \(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\)/)
    assert.match(problems[1]!, /dev\.tsv is gone/)
  })
})

describe('finetune resumed on edited data', () => {
  test('is refused naming the file; with the file put back it resumes', async () => {
    await writeTinyModel(join(root, 'tiny-model'))
    writeTsv(join(root, 'train.tsv'), sentences(32, 1))
    const original = readFileSync(join(root, 'train.tsv'))
    const params = withDefaults(finetuneSpec.params, {
      model: { path: 'tiny-model', num_labels: 2 },
      lora: { target_modules: ['q_lin', 'v_lin'], r: 2, alpha: 4 },
      dataset: { text_column: 'sentence', label_column: 'label', train: { path: 'train.tsv' } },
      tokenizer: { max_length: 32 },
      trainer: { max_steps: 2, save_every: 2, batch_size: 8, learning_rate: 1e-2 },
    })
    const dir = join(root, 'run')
    mkdirSync(dir)
    await runFinetune(params, stageContext(dir, { pipelineDir: root }))
    appendFileSync(join(root, 'train.tsv'), 'a great film\t1\n')
    await assert.rejects(runFinetune(params, stageContext(dir, { pipelineDir: root })), /cannot resume: .*train\.tsv has changed since the run started .*put the files back as they were, or start a new run/)
    writeFileSync(join(root, 'train.tsv'), original)
    await runFinetune(params, stageContext(dir, { pipelineDir: root }))
    assert.equal(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).resumed.length, 1)
  })
})
