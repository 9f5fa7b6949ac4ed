// The seed pipelines, end to end through the `lorapipe` command, on the real SST-2 data and the
// tiny DistilBERT fixture (pretrained weights cannot be downloaded here). Runs are shortened
// with --set so the suite stays fast; everything else is the shipped pipeline.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, lorapipeAsync, startLorapipe } from './support/cli.ts'
import { needsShared, shared } from './support/shared.ts'
import { startSeedHub } from './support/hub-fixture.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-seed-'))
const short = ['--set', 'trainer.max_steps=6', '--set', 'dataset.train.limit=96', '--set', 'dataset.eval.limit=64']
const local = () => [
  '--set', `model.path=${shared('fixtures', 'tiny-distilbert')}`,
  '--set', `dataset.train.path=${shared('data', 'sst2', 'train.tsv')}`,
  '--set', `dataset.eval.path=${shared('data', 'sst2', 'dev.tsv')}`,
]
const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))
const events = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l))

describe('seed pipelines end to end', { skip: needsShared }, () => {
  test('sst2-lora.yaml fetches model and data from the hub (HF_ENDPOINT); a second run works offline from the cache alone', async () => {
    const hub = await startSeedHub()
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(tmp(), 'hub'), HF_HOME: tmp() }
    const first = join(tmp(), 'online')
    let r
    try {
      // Not spawnSync: this process serves the hub.
      r = await lorapipeAsync(['run', 'pipelines/sst2-lora.yaml', ...short, '--out', first, '--json'], { env })
    } finally {
      await hub.close()
    }
    assert.equal(r.code, 0, r.stderr)
    const ev = events(r.stdout)
    assert.ok(ev.some((e) => e._tag === 'Download' && e.repo === 'glue' && e.done), 'dataset downloaded')
    assert.ok(ev.some((e) => e._tag === 'Download' && e.repo === 'distilbert-base-uncased' && e.file === 'model.safetensors' && e.done), 'model downloaded')
    assert.ok(ev.some((e) => e._tag === 'Log' && /trainable params: 3,170 \|\| all params: 1,013,410/.test(e.message)))
    const manifest = JSON.parse(readFileSync(join(first, 'manifest.json'), 'utf8'))
    assert.match(manifest.model.source, /^hub:distilbert-base-uncased@[0-9a-f]{40}$/)
    for (const f of ['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'metrics.json', 'config.resolved.yaml', 'events.jsonl', 'report.html']) assert.ok(existsSync(join(first, f)), f)

    const second = join(tmp(), 'offline')
    const off = lorapipe(['run', 'pipelines/sst2-lora.yaml', ...short, '--out', second, '--json'], { env: { ...env, HF_HUB_OFFLINE: '1' } })
    assert.equal(off.code, 0, off.stderr)
    assert.equal(events(off.stdout).filter((e) => e._tag === 'Download' && !e.done).length, 0, 'nothing downloaded offline')
    // Same backend, same seed: the same numbers.
    assert.deepEqual(metrics(second).eval.loss, metrics(first).eval.loss)
    assert.deepEqual(metrics(second).history.train, metrics(first).history.train)

    // A split that the (cached) dataset does not have is bad input, found before anything runs.
    const typo = join(tmp(), 'typo')
    const bad = lorapipe(['run', 'pipelines/sst2-lora.yaml', ...short, '--set', 'dataset.eval.split=validaton', '--out', typo], { env: { ...env, HF_HUB_OFFLINE: '1' } })
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /^--set dataset\.eval\.split=validaton: error: .*'validaton'/m)
    assert.equal(existsSync(typo), false)
  })

  test('offline with an empty cache fails with a clear error and exit 1', () => {
    const r = lorapipe(['run', 'pipelines/sst2-lora.yaml', ...short, '--out', join(tmp(), 'x')], { env: { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: tmp(), HF_HOME: tmp() } })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /offline|not in the cache/i)
  })

  test('sst2-lora-vs-full.yaml trains both methods on local files and prints the comparison table', () => {
    const out = join(tmp(), 'cmp')
    const r = lorapipe(['run', 'pipelines/sst2-lora-vs-full.yaml', ...local(), ...short, '--out', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\[compare\] comparison by accuracy:/)
    // Each training stage says its data at the start: rows, tokens, the longest row, and how many truncation cut.
    assert.match(r.stdout, /\[lora\] train data: 96 rows: [\d,]+ tokens; longest \d+; 0 truncated to 256\n/)
    assert.match(r.stdout, /\[full\] eval data: 64 rows: [\d,]+ tokens; longest \d+; 0 truncated to 256\n/)
    const table = readFileSync(join(out, 'compare', 'comparison.md'), 'utf8')
    assert.match(table, /\| lora +\| +3,170 \| +0\.31 \|/)
    assert.match(table, /\| full +\| +1,011,362 \| +100\.00 \|/, 'full fine-tuning trains every weight of the model (LoRA adds 2,048)')
    assert.ok(existsSync(join(out, 'lora', 'adapter', 'adapter_model.safetensors')))
    assert.ok(existsSync(join(out, 'full', 'model', 'model.safetensors')))
    assert.equal(metrics(join(out, 'full')).method, 'full')
  })

  test('model.init: random builds the model from a config alone (no weights, no hub)', () => {
    const out = join(tmp(), 'random')
    const r = lorapipe([
      'run', 'pipelines/sst2-lora.yaml', ...local().slice(2), ...short,
      '--set', 'model.init=random', '--set', `model.config=${shared('fixtures', 'tiny-distilbert', 'config.json')}`,
      '--set', `tokenizer.path=${shared('fixtures', 'tiny-distilbert')}`, '--out', out,
    ], { env: { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: tmp() } })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /built from .*config\.json with random weights \(seed 42\)/)
    assert.match(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).model.source, /^config:/)
  })

  test('a run killed with SIGKILL resumes from its last checkpoint and ends with the same metrics as an uninterrupted run', async () => {
    const args = [...local(), '--set', 'trainer.max_steps=30', '--set', 'trainer.save_every=5', '--set', 'dataset.train.limit=480', '--set', 'dataset.eval.limit=64']
    const whole = join(tmp(), 'whole')
    const ref = lorapipe(['run', 'pipelines/sst2-lora.yaml', ...args, '--out', whole])
    assert.equal(ref.code, 0, ref.stderr)

    const out = join(tmp(), 'killed')
    const child = startLorapipe(['run', 'pipelines/sst2-lora.yaml', ...args, '--out', out])
    const ckpts = join(out, 'checkpoints')
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now()
      const poll = setInterval(() => {
        const done = existsSync(ckpts) && readdirSync(ckpts).some((d) => d === 'step-10')
        if (done) {
          clearInterval(poll)
          child.kill('SIGKILL')
          resolve()
        } else if (Date.now() - t0 > 120_000 || child.exitCode !== null) {
          clearInterval(poll)
          reject(new Error('the run ended before it could be killed'))
        }
      }, 10)
    })
    await new Promise((r) => child.on('close', r))
    assert.equal(existsSync(join(out, 'stage.json')), false, 'the killed stage is not marked complete')
    assert.equal(existsSync(join(out, 'metrics.json')), false)

    const resumed = lorapipe(['run', '--resume', out])
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stdout, /resum/i)
    const a = metrics(whole)
    const b = metrics(out)
    assert.deepEqual(b.eval.loss, a.eval.loss)
    assert.deepEqual(b.eval.accuracy, a.eval.accuracy)
    assert.deepEqual(b.history.train.map((x: { loss: number }) => x.loss), a.history.train.map((x: { loss: number }) => x.loss))
    assert.deepEqual(readFileSync(join(out, 'adapter', 'adapter_model.safetensors')), readFileSync(join(whole, 'adapter', 'adapter_model.safetensors')))
  })

  test('bad input is caught before training: exit 2, nothing written', () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'trainer.batch_size=0'], /--set trainer\.batch_size=0: error: `trainer\.batch_size` must be >= 1, not 0/],
      [['--set', 'trainer.learning_rate=fast'], /`trainer\.learning_rate` must be a number, not the string "fast"/],
      [['--set', 'model.num_labels=1'], /`model\.labels` has 2 names but `model\.num_labels` is 1/],
      [['--set', 'model.num_labels=1', '--set', 'model.labels=[only]'], /^--set model\.num_labels=1: error: labels do not fit the model: the train split .* has 2 classes .* but the model has num_labels 1/m],
      [['--set', 'dataset.text_column=text'], /^--set dataset\.text_column=text: error: .*text_column "text" is not a column/m],
      [['--set', `dataset.eval.path=${join(tmp(), 'missing.tsv')}`], /^--set dataset\.eval\.path=.*missing\.tsv: error: .*missing\.tsv/m],
    ]
    for (const [sets, expected] of cases) {
      const out = join(tmp(), 'bad')
      const r = lorapipe(['run', 'pipelines/sst2-lora.yaml', ...local(), ...sets, '--out', out])
      assert.equal(r.code, 2, `${sets.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, expected)
      assert.equal(existsSync(out), false, `${sets.join(' ')}: nothing written`)
    }
  })
})
