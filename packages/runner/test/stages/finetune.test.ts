import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Fiber from 'effect/Fiber'
import type { RunMetrics, StageEvent } from '@lorapipe/core'
import type { Written } from '@lorapipe/core/schema/json-schema.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { evaluateSpec, exportSpec, finetuneSpec } from '@lorapipe/core/stage/builtins.ts'
import { finetuneStage, runFinetune } from '../../src/stages/finetune.ts'
import { runEvaluate } from '../../src/stages/evaluate.ts'
import { runExport } from '../../src/stages/export.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { selectBackend } from '../../src/backend/select.ts'
import { sentences, writeTinyModel, writeTsv } from '../trainer/support.ts'
import { stageContext } from './support.ts'

let root = ''
let modelDir = ''
before(async () => {
  await selectBackend({ backend: 'cpu' })
  root = mkdtempSync(join(tmpdir(), 'stages-'))
  modelDir = await writeTinyModel(join(root, 'tiny-model'))
  writeTsv(join(root, 'train.tsv'), sentences(64, 1))
  writeTsv(join(root, 'dev.tsv'), sentences(32, 2))
})
after(() => rmSync(root, { recursive: true, force: true }))

const params = (over: Partial<Written<typeof finetuneSpec.params>> = {}) => withDefaults(finetuneSpec.params, {
  model: { path: 'tiny-model', num_labels: 2 },
  lora: { target_modules: ['q_lin', 'v_lin'], r: 4, alpha: 8, dropout: 0.1, modules_to_save: ['pre_classifier', 'classifier'] },
  dataset: { text_column: 'sentence', label_column: 'label', train: { path: 'train.tsv', shuffle: true, limit: 48 }, eval: { path: 'dev.tsv' } },
  tokenizer: { max_length: 32 },
  trainer: { epochs: 2, batch_size: 8, eval_batch_size: 16, learning_rate: 5e-2, eval_every: 6, log_every: 3 },
  ...over,
})

const outDir = (name: string) => {
  const d = join(root, name)
  mkdirSync(d, { recursive: true })
  return d
}
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8'))
const manifestBackend = (dir: string): string => readJson(join(dir, 'manifest.json')).backend.name

describe('finetune stage on a tiny model and data the test writes (no ../shared)', () => {
  test('LoRA: writes manifest, metrics and a PEFT adapter that evaluate reproduces', async () => {
    const dir = outDir('lora')
    const events: StageEvent[] = []
    const out = await runFinetune(params(), stageContext(dir, { pipelineDir: root, events }))
    assert.deepEqual(out, { dir, metrics: join(dir, 'metrics.json'), adapter_dir: join(dir, 'adapter'), model_dir: null })
    const logs = events.filter((e) => e._tag === 'Log').map((e) => (e as { message: string }).message)
    // runtime.backend is cpu here; LORAPIPE_BACKEND may override it, and the log says which and why
    assert.ok(logs.some((m) => new RegExp(`^backend: ${manifestBackend(dir)} \\(\\d+ threads?\\): `).test(m)), logs.join('\n'))
    assert.ok(logs.some((m) => /^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: /.test(m)))

    const manifest = readJson(join(dir, 'manifest.json'))
    const sha = createHash('sha256').update(readFileSync(join(modelDir, 'model.safetensors'))).digest('hex')
    assert.equal(manifest.model.weights[0].sha256, sha)
    assert.equal(manifest.model.source, `local:${modelDir}`)
    assert.ok(['cpu', 'wasm', 'tfjs-node', 'tfjs-node-gpu'].includes(manifest.backend.name))
    assert.equal(manifest.seed, 42)
    assert.deepEqual(manifest.dataset.splits.map((s: { split: string; examples: number }) => [s.split, s.examples]), [['train', 48], ['eval', 32]])
    assert.equal(manifest.dataset.splits[0].files[0].sha256, createHash('sha256').update(readFileSync(join(root, 'train.tsv'))).digest('hex'))
    assert.equal(manifest.parameters.method, 'lora')
    assert.deepEqual(manifest.steps, { total: 12, per_epoch: 6, warmup: 0 })

    const m: RunMetrics = readJson(out.metrics)
    assert.equal(m.method, 'lora')
    assert.equal(m.trainable_params, manifest.parameters.trainable)
    assert.equal(m.train.steps, 12)
    assert.deepEqual(m.history.eval.map((e) => e.step), [6, 12])
    assert.deepEqual(m.eval, m.history.eval[1])
    assert.ok(Math.abs(m.train.loss! - m.history.train.reduce((s, r) => s + r.loss, 0) / 4) < 1e-9)

    const adapter = await readSafetensors(join(dir, 'adapter', 'adapter_model.safetensors'))
    assert.ok([...adapter.tensors.keys()].every((k) => /^base_model\.model\.(distilbert\..*\.(q_lin|v_lin)\.lora_[AB]\.weight|pre_classifier\.(weight|bias)|classifier\.(weight|bias))$/.test(k)))
    assert.equal(readJson(join(dir, 'adapter', 'adapter_config.json')).peft_type, 'LORA')
    assert.ok(readdirSync(join(dir, 'checkpoints')).includes('step-12'))

    const evDir = outDir('lora-eval')
    const ev = await runEvaluate(
      withDefaults(evaluateSpec.params, { model: { path: 'tiny-model', num_labels: 2 }, adapter: join(dir, 'adapter'), dataset: params().dataset, tokenizer: { max_length: 32 }, batch_size: 5 }),
      stageContext(evDir, { pipelineDir: root }),
    )
    const em: RunMetrics = readJson(ev.metrics)
    assert.equal(em.eval.accuracy, m.eval.accuracy)
    assert.equal(em.eval.f1, m.eval.f1)
    assert.ok(Math.abs(em.eval.loss - m.eval.loss) < 1e-5, `${em.eval.loss} vs ${m.eval.loss}`)

    // export merges the adapter into a plain model folder that evaluates the same
    const exDir = outDir('export')
    const ex = await runExport(withDefaults(exportSpec.params, { model: { path: 'tiny-model', num_labels: 2 }, adapter: join(dir, 'adapter') }), stageContext(exDir, { pipelineDir: root }))
    assert.ok(existsSync(join(ex.dir, 'model.safetensors')) && existsSync(join(ex.dir, 'vocab.txt')))
    const merged = await runEvaluate(withDefaults(evaluateSpec.params, { model: { path: ex.dir }, dataset: params().dataset, tokenizer: { max_length: 32 } }), stageContext(outDir('merged-eval'), { pipelineDir: root }))
    const mm: RunMetrics = readJson(merged.metrics)
    assert.equal(mm.eval.accuracy, m.eval.accuracy)
    assert.ok(Math.abs(mm.eval.loss - m.eval.loss) < 1e-4)
    const unmerged = await runExport(withDefaults(exportSpec.params, { model: { path: 'tiny-model' }, adapter: join(dir, 'adapter'), merge: false }), stageContext(outDir('export-unmerged'), { pipelineDir: root }))
    assert.deepEqual(readdirSync(unmerged.dir).sort(), ['adapter', 'model'])
  })

  test('full fine-tuning (lora: null) writes a transformers model folder with the tokenizer', async () => {
    const dir = outDir('full')
    const out = await runFinetune(params({ lora: null, trainer: { max_steps: 4, batch_size: 8, learning_rate: 1e-3, eval_every: 4 } }), stageContext(dir, { pipelineDir: root }))
    assert.equal(out.adapter_dir, null)
    assert.equal(out.model_dir, join(dir, 'model'))
    assert.deepEqual(readdirSync(out.model_dir!).sort(), ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt'])
    const m: RunMetrics = readJson(out.metrics)
    assert.equal(m.method, 'full')
    assert.equal(m.trainable_params, m.total_params)
    const ev = await runEvaluate(withDefaults(evaluateSpec.params, { model: { path: out.model_dir! }, dataset: params().dataset, tokenizer: { max_length: 32 } }), stageContext(outDir('full-eval'), { pipelineDir: root }))
    assert.ok(Math.abs(readJson(ev.metrics).eval.loss - m.eval.loss) < 1e-5)
  })

  test('labels that do not fit num_labels fail before training, with nothing written', async () => {
    const dir = outDir('bad-labels')
    writeTsv(join(root, 'three.tsv'), [...sentences(10, 3), { sentence: 'good film', label: 2 }])
    await assert.rejects(
      runFinetune(params({ dataset: { ...params().dataset, train: { path: 'three.tsv' } } }), stageContext(dir, { pipelineDir: root })),
      /labels do not fit the model: the train split \(.*three\.tsv\) has 3 classes \(label ids up to 2\) but the model has num_labels 2; set `model\.num_labels: 3`/,
    )
    assert.deepEqual(readdirSync(dir), [])
  })

  test('interrupted through the Effect, then run again on the same folder: same final metrics as an uninterrupted run', async () => {
    const p = params({ trainer: { ...params().trainer, save_every: 4 } })
    const ref: RunMetrics = readJson((await runFinetune(p, stageContext(outDir('ref'), { pipelineDir: root }))).metrics)

    const dir = outDir('interrupted')
    const fiber = Effect.runFork(finetuneStage(p, stageContext(dir, { pipelineDir: root })))
    // wait for the step-4 checkpoint, then interrupt (as Ctrl-C does through the executor)
    while (!existsSync(join(dir, 'checkpoints', 'step-4'))) await new Promise((r) => setTimeout(r, 5))
    const exit = await Effect.runPromise(Fiber.interrupt(fiber))
    assert.ok(Exit.isInterrupted(exit), 'the stage was interrupted before completing')
    assert.ok(!existsSync(join(dir, 'metrics.json')))
    const events: StageEvent[] = []
    const out = await runFinetune(p, stageContext(dir, { pipelineDir: root, events }))
    assert.ok(events.some((e) => e._tag === 'Log' && /resuming from .*step-\d+/.test(e.message)))
    const m: RunMetrics = readJson(out.metrics)
    const strip = (x: RunMetrics) => ({ train: x.history.train, eval: x.history.eval.map((e) => ({ ...e, runtime_s: 0, samples_per_s: 0 })), loss: x.train.loss })
    assert.deepEqual(strip(m), strip(ref))
    assert.deepEqual(readJson(join(dir, 'manifest.json')).resumed.length, 1)
  })
})
