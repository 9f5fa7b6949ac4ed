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
    // The same predictions whatever the file; the .tsv's labels add the true label and a summary.
    const rows = (o: { stdout: string }) => o.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.text !== undefined).map(({ text, label, logits, probabilities }) => ({ text, label, logits, probabilities }))
    assert.deepEqual(rows(outs[0]!), rows(outs[1]!))
    assert.deepEqual(rows(outs[0]!), rows(outs[2]!))
    const bad = lorapipe(['predict', '--model', model, '--input', join(dir, 'bad.tsv'), '--text-column', 'sentence'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /bad\.tsv:1: no text column `sentence` in the header \(sentense, label\); did you mean `sentense`\?/)
  })

  test('on a labelled file: probabilities per label, the true label, accuracy, F1 and the confusion matrix as scikit-learn computes them', { skip: needsShared }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-predict-'))
    const golden = JSON.parse(readFileSync(shared('fixtures', 'golden', 'distilbert-lora.json'), 'utf8'))
    const sentences = golden.sentences as string[]
    // True labels chosen so that some predictions are wrong: alternating, as names and as ids.
    const truth = sentences.map((_, i) => i % 2)
    writeFileSync(join(dir, 'in.jsonl'), sentences.map((t, i) => JSON.stringify({ text: t, label: ['negative', 'positive'][truth[i]!] })).join('\n') + '\n')
    writeFileSync(join(dir, 'in.tsv'), 'sentence\tgold\n' + sentences.map((t, i) => `${t}\t${truth[i]}`).join('\n') + '\n')
    const base = ['predict', '--model', shared('fixtures', 'tiny-distilbert'), '--adapter', shared('fixtures', 'golden', 'lora-adapter')]
    const j = lorapipe([...base, '--input', join(dir, 'in.jsonl'), '--json'])
    assert.equal(j.code, 0, j.stderr)
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l))
    const rows = lines.slice(0, -1)
    const { summary } = lines.at(-1)
    // Expected from the golden (PyTorch) logits, independently of lorapipe's arithmetic.
    const predicted = (golden.lora_logits as number[][]).map((l) => (l[1]! > l[0]! ? 1 : 0))
    rows.forEach((r, i) => {
      const l = golden.lora_logits[i] as number[]
      const p1 = 1 / (1 + Math.exp(l[0]! - l[1]!))
      assert.ok(Math.abs(r.probabilities.positive - p1) < 1e-4 && Math.abs(r.probabilities.negative - (1 - p1)) < 1e-4, `row ${i}: ${JSON.stringify(r.probabilities)}`)
      assert.equal(r.true_label, ['negative', 'positive'][truth[i]!])
    })
    const cm = [[0, 0], [0, 0]]
    predicted.forEach((p, i) => (cm[truth[i]!]![p]! += 1))
    const correct = predicted.filter((p, i) => p === truth[i]).length
    const f1 = (2 * cm[1]![1]!) / (2 * cm[1]![1]! + cm[0]![1]! + cm[1]![0]!)
    assert.deepEqual(summary.confusion, cm)
    assert.deepEqual(summary.labels, ['negative', 'positive'])
    assert.equal(summary.correct, correct)
    assert.ok(Math.abs(summary.accuracy - correct / sentences.length) < 1e-12)
    assert.ok(Math.abs(summary.f1 - (Number.isNaN(f1) ? 0 : f1)) < 1e-12)
    // Plain: the predictions on stdout, the score on stderr, for a person; ids in a named column.
    const t = lorapipe([...base, '--input', join(dir, 'in.tsv'), '--label-column', 'gold'])
    assert.equal(t.code, 0, t.stderr)
    assert.equal(t.stdout.trim().split('\n').length, sentences.length)
    assert.match(t.stderr, new RegExp(`accuracy \\d\\.\\d+ \\(${correct} of ${sentences.length}\\)\\nf1 \\d\\.\\d+ \\(of positive\\)\\ntrue \\\\ predicted +negative +positive\\nnegative +${cm[0]![0]} +${cm[0]![1]}\\npositive +${cm[1]![0]} +${cm[1]![1]}\\n`))
    // A label the model does not have is an error at its line.
    writeFileSync(join(dir, 'odd.jsonl'), `{"text": "good", "label": "positive"}\n{"text": "bad", "label": "neutral"}\n`)
    const odd = lorapipe([...base, '--input', join(dir, 'odd.jsonl')])
    assert.equal(odd.code, 2)
    assert.match(odd.stderr, /odd\.jsonl:2: .*neutral/)
    assert.doesNotMatch(odd.stderr, /\n\s+at /)
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
