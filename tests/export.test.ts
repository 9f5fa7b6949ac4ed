// `lorapipe export`: a run's adapter as a Hugging Face model folder with the adapter merged, or
// as the PEFT adapter alone. The merged folder, loaded by the PyTorch reference in
// ../shared/peer (its own DistilBERT, tokenizer and safetensors reader: no lorapipe code), gives
// the logits `lorapipe predict` gives with the run's adapter on its base. The run: the seed
// pipeline on the tiny DistilBERT fixture, 2 steps at a learning rate high enough that the
// adapter moves the logits (checked against the base model's).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe } from './support/cli.ts'
import { needsShared, repoRoot, shared, sharedDir } from './support/shared.ts'

const python = '/usr/bin/python3'
const hasTorch = existsSync(python) && spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0
const texts = ['a gripping , funny and moving film .', 'dull , lifeless and far too long', 'the cast is uniformly excellent', 'it never finds its footing .']

function predictLogits(args: string[]): number[][] {
  const r = lorapipe(['predict', ...args, '--json', ...texts.flatMap((t) => ['--text', t])])
  assert.equal(r.code, 0, r.stderr)
  return r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { logits: number[] }).logits)
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))))

describe('lorapipe export', { skip: needsShared }, () => {
  let dir: string
  let run: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lorapipe-export-'))
    run = join(dir, 'run')
    const r = lorapipe([
      'run', join(repoRoot, 'pipelines', 'sst2-lora.yaml'), '--out', run, '-q',
      '--set', `model.path=${shared('fixtures', 'tiny-distilbert')}`,
      '--set', `dataset.train.path=${shared('data', 'sst2', 'train.tsv')}`,
      '--set', `dataset.eval.path=${shared('data', 'sst2', 'dev.tsv')}`,
      '--set', 'dataset.train.limit=16', '--set', 'dataset.eval.limit=8',
      '--set', 'trainer.max_steps=2', '--set', 'trainer.batch_size=8', '--set', 'trainer.eval_every=2', '--set', 'trainer.learning_rate=0.05',
    ])
    assert.equal(r.code, 0, r.stderr)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('--merged writes a complete Hugging Face model folder whose logits in the PyTorch reference are the run\'s (lorapipe predict with the adapter), within 1e-5', { skip: hasTorch ? false : `skipped: ${python} with torch and numpy is not installed (apt-get install python3-torch)` }, () => {
    const merged = join(dir, 'merged')
    const r = lorapipe(['export', run, '--merged', '--out', merged])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^wrote .*merged: model with the adapter merged/)
    assert.deepEqual(readdirSync(merged).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'])

    const peer = spawnSync(python, [join(repoRoot, 'tests', 'fixtures', 'peer', 'distilbert_logits.py'), shared('peer'), merged], { input: JSON.stringify(texts), encoding: 'utf8' })
    assert.equal(peer.status, 0, peer.stderr)
    const reference = JSON.parse(peer.stdout) as { logits: number[][]; unexpected: string[] }
    assert.deepEqual(reference.unexpected, [], 'every tensor of model.safetensors is a DistilBERT weight')

    const withAdapter = predictLogits(['--adapter', join(run, 'adapter')])
    assert.ok(maxDiff(reference.logits, withAdapter) < 1e-5, `merged (PyTorch) vs adapter (lorapipe): max |diff| ${maxDiff(reference.logits, withAdapter)}`)
    // The adapter matters: the base model alone gives other logits.
    const base = predictLogits(['--model', shared('fixtures', 'tiny-distilbert')])
    assert.ok(maxDiff(reference.logits, base) > 1e-3, `the adapter barely moved the logits (max |diff| ${maxDiff(reference.logits, base)}); the check would prove nothing`)
  })

  it('--adapter writes the PEFT adapter alone, byte for byte the run\'s', () => {
    const out = join(dir, 'adapter-only')
    const r = lorapipe(['export', run, '--adapter', '--out', out])
    assert.equal(r.code, 0, r.stderr)
    const files = readdirSync(join(run, 'adapter')).sort()
    assert.deepEqual(readdirSync(out).sort(), files)
    assert.ok(files.includes('adapter_config.json') && files.includes('adapter_model.safetensors'), files.join(' '))
    for (const f of files) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(run, 'adapter', f))), f)
  })

  it('an adapter folder is a source too: its base is the one adapter_config.json names', () => {
    const out = join(dir, 'from-adapter')
    const r = lorapipe(['export', join(run, 'adapter'), '--merged', '--out', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /base model: .*tiny-distilbert \(from .*adapter_config\.json\)/)
    assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(dir, 'merged', 'model.safetensors'))) || !existsSync(join(dir, 'merged')))
  })

  it('refuses a non-empty --out (exit 2, nothing replaced) unless --force, which replaces it whole', () => {
    const out = join(dir, 'mine')
    mkdirSync(out)
    writeFileSync(join(out, 'notes.txt'), 'my notes\n')
    const refused = lorapipe(['export', run, '--adapter', '--out', out])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /error: --out .*mine is not empty \(it holds notes\.txt\); nothing of it was replaced\n  hint: .*--force/)
    assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'my notes\n')
    const forced = lorapipe(['export', run, '--adapter', '--out', out, '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.deepEqual(readdirSync(out).sort(), readdirSync(join(run, 'adapter')).sort())
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary folder is left beside it')
  })

  it('says what is wrong, with exit 2, for bad arguments and sources', () => {
    const cases: [string[], RegExp][] = [
      [['export', run, '--out', join(dir, 'x')], /say what to export: --merged .* or --adapter/],
      [['export', run, '--merged'], /--out DIR is required/],
      [['export', join(dir, 'nothing'), '--merged', '--out', join(dir, 'x')], /nothing does not exist\n  hint: give a run folder/],
      [['export', join(run, 'checkpoints'), '--merged', '--out', join(dir, 'x')], /is neither a run folder \(run\.json\) nor a PEFT adapter folder/],
      [['export', run, '--merged', '--out', join(dir, 'x'), '--stage', 'train'], /has no finetune stage `train`\n  hint: its finetune stages: finetune/],
      [['export', run, '--merged', '--out', join(run, 'adapter'), '--force'], /overlaps .*adapter, which the export reads/],
    ]
    for (const [args, message] of cases) {
      const r = lorapipe(args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(' '))
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
    assert.ok(!existsSync(join(dir, 'x')))
  })
})

if (!sharedDir) describe('lorapipe export', () => it('needs ../shared', { skip: needsShared }, () => {}))
