// `lorapipe predict` reproduces PyTorch's logits through the CLI, and `lorapipe cache` shows and
// prunes a real huggingface_hub-layout cache filled from a local hub server.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe } from './support/cli.ts'
import { needsShared, shared } from './support/shared.ts'
import { startHubServer } from '../packages/runner/test/hub/hub-server.ts'
import { hfHubDownload } from '../packages/runner/src/hub/index.ts'

describe('lorapipe predict', () => {
  test('with the golden adapter, --json logits match PyTorch within 1e-4', { skip: needsShared }, () => {
    const golden = JSON.parse(readFileSync(shared('fixtures', 'golden', 'distilbert-lora.json'), 'utf8'))
    const args = ['predict', '--model', shared('fixtures', 'tiny-distilbert'), '--adapter', shared('fixtures', 'golden', 'lora-adapter'), '--json']
    for (const s of golden.sentences as string[]) args.push('--text', s)
    const r = lorapipe(args)
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(lines.length, golden.sentences.length)
    lines.forEach((l, i) => {
      assert.equal(l.text, golden.sentences[i])
      l.logits.forEach((v: number, j: number) => assert.ok(Math.abs(v - golden.lora_logits[i][j]) < 1e-4, `sentence ${i} logit ${j}: ${v} vs ${golden.lora_logits[i][j]}`))
      assert.equal(l.label, golden.lora_logits[i][1] > golden.lora_logits[i][0] ? 'positive' : 'negative')
    })
  })

  test('reads texts from .txt, .tsv and .jsonl files; a missing text column is a clear error', { skip: needsShared }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-predict-'))
    writeFileSync(join(dir, 'in.txt'), 'good\nbad\n')
    writeFileSync(join(dir, 'in.tsv'), 'sentence\tlabel\ngood\t1\nbad\t0\n')
    writeFileSync(join(dir, 'in.jsonl'), '{"text": "good"}\n{"text": "bad"}\n')
    writeFileSync(join(dir, 'bad.tsv'), 'sentense\tlabel\ngood\t1\n')
    const model = shared('fixtures', 'tiny-distilbert')
    const outs = ['in.txt', 'in.tsv', 'in.jsonl'].map((f) => lorapipe(['predict', '--model', model, '--input', join(dir, f), '--json']))
    for (const o of outs) assert.equal(o.code, 0, o.stderr)
    assert.equal(outs[0]!.stdout, outs[1]!.stdout)
    assert.equal(outs[0]!.stdout, outs[2]!.stdout)
    const bad = lorapipe(['predict', '--model', model, '--input', join(dir, 'bad.tsv'), '--text-column', 'sentence'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /bad\.tsv:1: no text column `sentence` in the header \(sentense, label\); did you mean `sentense`\?/)
  })

  test('a model folder that does not exist is bad input with the reason', () => {
    const r = lorapipe(['predict', '--model', '/nonexistent/model-dir', '--text', 'x'], { env: { HF_HUB_OFFLINE: '1', HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'lorapipe-c-')) } })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /error: the model folder \/nonexistent\/model-dir does not exist/)
    assert.doesNotMatch(r.stderr, /repo id/)
  })

  test('needs exactly one of --text and --input', () => {
    const r = lorapipe(['predict', '--model', 'x'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /give the texts with --text/)
  })
})

describe('lorapipe cache', () => {
  test('ls shows what was downloaded; rm removes it and says how much was freed', async () => {
    const hub = await startHubServer([{ type: 'model', id: 'org/tiny', revisions: { main: { 'config.json': Buffer.from('{"a": 1}\n'), 'model.safetensors': { content: Buffer.alloc(5000, 7), lfs: true } } } }])
    const cache = mkdtempSync(join(tmpdir(), 'lorapipe-cache-'))
    try {
      for (const f of ['config.json', 'model.safetensors']) await hfHubDownload('org/tiny', f, { endpoint: hub.url, cacheDir: cache, token: false })
    } finally {
      await hub.close()
    }
    const env = { HF_HUB_CACHE: cache }
    const ls = lorapipe(['cache', 'ls'], { env })
    assert.equal(ls.code, 0, ls.stderr)
    assert.match(ls.stdout, /^REPO ID\s+TYPE\s+SIZE\s+FILES\s+REFS/m)
    assert.match(ls.stdout, /^org\/tiny\s+model\s+5\.0 kB\s+2\s+main/m)
    const json = JSON.parse(lorapipe(['cache', 'ls', '--json'], { env }).stdout)
    assert.equal(json.repos[0].repoId, 'org/tiny')
    const missing = lorapipe(['cache', 'rm', 'org/nope'], { env })
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /model org\/nope is not in the cache/)
    const rm = lorapipe(['cache', 'rm', 'org/tiny'], { env })
    assert.equal(rm.code, 0, rm.stderr)
    assert.match(rm.stdout, /deleted model org\/tiny \(5\.\d kB freed\)/)
    assert.equal(existsSync(join(cache, 'models--org--tiny')), false)
    assert.match(lorapipe(['cache', 'ls'], { env }).stdout, /is empty/)
  })
})
