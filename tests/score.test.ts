// `lorapipe score` reproduces PyTorch's causal-LM numbers through the real executable: the tiny
// Llama's goldens (../shared/fixtures/golden/llama-*: per-example loss within 1e-5, logits within
// 1e-4, token ids exact, base and with the golden LoRA adapter), and Llama-family shapes the tiny
// Llama lacks (packages/runner/test/fixtures/llama-shapes, made from ../shared/peer/llama.py: qwen2
// with q/k/v biases, tied embeddings and BF16 shards; llama3 rope scaling with head_dim and biases
// from F16), base and with their adapters. Bad input is exit 2 with the file and line, no stack.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, lorapipe, type CliResult } from './support/cli.ts'
import { needsShared, repoRoot, shared } from './support/shared.ts'
import { readSafetensors } from '../packages/runner/src/safetensors/read.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-score-'))
const SHAPES = join(repoRoot, 'packages', 'runner', 'test', 'fixtures', 'llama-shapes')

interface Scored {
  line: number
  loss: number
  tokens: number
  input_ids: number[]
  labels: number[]
  logits?: Array<number[] | null>
}

/** Runs lorapipe with stdout into a file (logits are megabytes: more than a pipe buffer holds). */
function score(args: string[]): CliResult & { rows: Scored[] } {
  const dir = tmp()
  const out = join(dir, 'stdout.jsonl')
  const fd = openSync(out, 'w')
  try {
    const r = spawnSync(process.execPath, [bin, 'score', ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 120_000 })
    const stdout = readFileSync(out, 'utf8')
    const rows = r.status === 0 && args.includes('--json') ? stdout.trim().split('\n').map((l) => JSON.parse(l) as Scored) : []
    return { code: r.status, stdout, stderr: r.stderr, rows }
  } finally {
    closeSync(fd)
  }
}

function jsonl(rows: unknown[]): string {
  const file = join(tmp(), 'rows.jsonl')
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n')
  return file
}

function assertClean(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`)
  assert.match(r.stderr, pattern)
  assert.doesNotMatch(r.stderr, /\n\s+at |\.ts:\d+:\d+/, 'no stack trace')
}

interface Golden {
  examples: Array<{ messages: Array<{ role: string; content: string }> }>
  input_ids: number[][]
  attention_mask: number[][]
  labels: number[][]
  base_loss: number
  base_loss_per_example: number[]
  lora_loss: number
  lora_loss_per_example: number[]
  label_tokens_per_example: number[]
  logits_positions: number[][]
}

describe('lorapipe score on the tiny Llama (PyTorch goldens)', { skip: needsShared }, () => {
  const golden = () => JSON.parse(readFileSync(shared('fixtures', 'golden', 'llama-sft.json'), 'utf8')) as Golden
  const model = () => shared('fixtures', 'tiny-llama')
  const adapter = () => shared('fixtures', 'golden', 'llama-lora-adapter')

  /** The golden's example i without its padding, as an input_ids row. */
  const tokenRow = (g: Golden, i: number) => {
    const n = g.attention_mask[i]!.reduce((a, b) => a + b, 0)
    return { input_ids: g.input_ids[i]!.slice(0, n), labels: g.labels[i]!.slice(0, n) }
  }

  for (const [name, withAdapter] of [['base model', false], ['golden LoRA adapter', true]] as const) {
    test(`${name}: chat rows give the golden token ids, labelled-token counts and per-example losses (1e-5)`, () => {
      const g = golden()
      const r = score(['--model', model(), ...(withAdapter ? ['--adapter', adapter()] : []), '--input', jsonl(g.examples.map((e) => ({ messages: e.messages }))), '--json'])
      assert.equal(r.code, 0, r.stderr)
      const want = withAdapter ? g.lora_loss_per_example : g.base_loss_per_example
      assert.equal(r.rows.length, want.length)
      let sum = 0
      let tokens = 0
      r.rows.forEach((row, i) => {
        const t = tokenRow(g, i)
        assert.equal(row.line, i + 1)
        assert.deepEqual(row.input_ids, t.input_ids, `example ${i}: token ids`)
        assert.deepEqual(row.labels, t.labels, `example ${i}: labels (completion only)`)
        assert.equal(row.tokens, g.label_tokens_per_example[i])
        assert.ok(Math.abs(row.loss - want[i]!) <= 1e-5, `example ${i}: loss ${row.loss} vs ${want[i]}`)
        sum += row.loss * row.tokens
        tokens += row.tokens
      })
      // The batch loss of the golden is the mean over all labelled tokens of the six examples.
      const batchLoss = withAdapter ? g.lora_loss : g.base_loss
      assert.ok(Math.abs(sum / tokens - batchLoss) <= 1e-5, `mean over all tokens ${sum / tokens} vs ${batchLoss}`)
    })

    test(`${name}: --logits gives every position's logits, the golden rows within 1e-4`, async () => {
      const g = golden()
      const want = (await readSafetensors(shared('fixtures', 'golden', 'llama-logits.safetensors'))).tensors.get(withAdapter ? 'lora_logits' : 'base_logits')!
      const [, P, V] = want.shape as [number, number, number]
      // One example per run (a row's logits are 32,000 floats a position): the longest with the adapter, the shortest without.
      const i = withAdapter ? 3 : 1
      const r = score(['--model', model(), ...(withAdapter ? ['--adapter', adapter()] : []), '--input', jsonl([tokenRow(g, i)]), '--json', '--logits'])
      assert.equal(r.code, 0, r.stderr)
      const row = r.rows[0]!
      assert.equal(row.logits!.length, row.input_ids.length, 'one logits row per position')
      assert.ok(row.logits!.every((l) => l !== null && l.length === V), 'every position has the whole vocabulary')
      assert.ok(Math.abs(row.loss - (withAdapter ? g.lora_loss_per_example : g.base_loss_per_example)[i]!) <= 1e-5)
      let max = 0
      g.logits_positions[i]!.forEach((pos, p) => {
        const got = row.logits![pos]!
        for (let k = 0; k < V; k++) max = Math.max(max, Math.abs(got[k]! - want.data[(i * P + p) * V + k]!))
      })
      assert.ok(max <= 1e-4, `logits differ by ${max}`)
    })
  }

  test('prompt/completion, text and input_ids rows tokenize as SFT data does and score alike', () => {
    const g = golden()
    const chat = (JSON.parse(readFileSync(shared('fixtures', 'golden', 'llama-tokenizer.json'), 'utf8')) as { chat: Array<Record<string, { prompt_text: string; text: string }>> }).chat
    const c = chat[0]!['tiny-llama']!
    // The rendered conversation without the <s> the tokenizer adds and the </s> appended to a completion or text.
    const prompt = c.prompt_text.replace(/^<s>/, '')
    const completion = c.text.slice(c.prompt_text.length).replace(/<\/s>$/, '')
    const text = c.text.replace(/^<s>/, '').replace(/<\/s>$/, '')
    const t = tokenRow(g, 0)
    const r = score(['--model', model(), '--input', jsonl([{ prompt, completion }, { text }, { input_ids: t.input_ids }, { input_ids: [...t.input_ids, 0, 0], attention_mask: [...t.input_ids.map(() => 1), 0, 0] }]), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const [pc, whole, ids, padded] = r.rows as [Scored, Scored, Scored, Scored]
    assert.deepEqual(pc.input_ids, t.input_ids)
    assert.deepEqual(pc.labels, t.labels, 'the completion (and </s>) only')
    assert.ok(Math.abs(pc.loss - g.base_loss_per_example[0]!) <= 1e-5, `prompt/completion loss ${pc.loss}`)
    assert.deepEqual(whole.input_ids, t.input_ids)
    assert.deepEqual(whole.labels, t.input_ids, 'a text row is scored on every token')
    assert.equal(whole.tokens, t.input_ids.length - 1)
    // input_ids without labels: labels = ids (transformers' labels=input_ids), the text row's numbers.
    assert.equal(ids.tokens, whole.tokens)
    assert.ok(Math.abs(ids.loss - whole.loss) <= 1e-6, `${ids.loss} vs ${whole.loss}`)
    // Right padding without labels: -100 on the padding, so the same tokens and loss.
    assert.deepEqual(padded.labels.slice(-2), [-100, -100])
    assert.equal(padded.tokens, ids.tokens)
    assert.ok(Math.abs(padded.loss - ids.loss) <= 1e-6, `${padded.loss} vs ${ids.loss}`)
  })

  test('plain output: line, loss and token count per row, and the loss over all tokens on stderr', () => {
    const g = golden()
    const r = lorapipe(['score', '--model', model(), '--input', jsonl(g.examples.slice(0, 2).map((e) => ({ messages: e.messages })))])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^1\t10\.39\d{4}\t3\n2\t10\.38\d{4}\t2\n$/)
    assert.match(r.stderr, /2 rows, 5 scored tokens: loss 10\.39\d{4} over all of them \(perplexity \d+\.\d{4}\)/)
  })
})

interface ShapeExpected {
  input_ids: number[][]
  attention_mask: number[][]
  labels: number[][]
  base_loss: number
  lora_loss: number
}

describe('lorapipe score on Llama-family shapes the tiny Llama lacks (peer/llama.py)', () => {
  for (const name of ['qwen2-tied-kv1', 'llama3-headdim']) {
    for (const withAdapter of [false, true]) {
      test(`${name}${withAdapter ? ' with its adapter' : ''}: padded token rows give the reference logits (1e-4) and loss (1e-5)`, async () => {
        const dir = join(SHAPES, name)
        const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as ShapeExpected
        const want = (await readSafetensors(join(dir, 'expected.safetensors'))).tensors.get(withAdapter ? 'lora_logits' : 'base_logits')!
        const [, L, V] = want.shape as [number, number, number]
        // Rows as the reference ran them: right-padded, with their attention mask (labels -100 on padding).
        const rows = e.input_ids.map((ids, i) => ({ input_ids: ids, attention_mask: e.attention_mask[i], labels: e.labels[i] }))
        const r = score(['--model', dir, ...(withAdapter ? ['--adapter', join(dir, 'adapter')] : []), '--input', jsonl(rows), '--json', '--logits'])
        assert.equal(r.code, 0, r.stderr)
        let max = 0
        let sum = 0
        let tokens = 0
        r.rows.forEach((row, b) => {
          row.logits!.forEach((got, t) => {
            if (e.attention_mask[b]![t] === 0) return assert.equal(got, null, `row ${b} position ${t} is padding`)
            for (let k = 0; k < V; k++) max = Math.max(max, Math.abs(got![k]! - want.data[(b * L + t) * V + k]!))
          })
          // The row's loss from the reference's own logits (float64 log-softmax).
          let ref = 0
          let n = 0
          for (let t = 1; t < L; t++) {
            const y = e.labels[b]![t]!
            if (y === -100) continue
            const z = Array.from(want.data.subarray((b * L + t - 1) * V, (b * L + t) * V))
            const m = Math.max(...z)
            ref += m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) - z[y]!
            n++
          }
          assert.equal(row.tokens, n)
          assert.ok(Math.abs(row.loss - ref / n) <= 1e-5, `row ${b}: loss ${row.loss} vs ${ref / n}`)
          sum += row.loss * row.tokens
          tokens += row.tokens
        })
        assert.ok(max <= 1e-4, `logits differ by ${max}`)
        const batchLoss = withAdapter ? e.lora_loss : e.base_loss
        assert.ok(Math.abs(sum / tokens - batchLoss) <= 1e-5, `mean over all tokens ${sum / tokens} vs ${batchLoss}`)
      })
    }
  }
})

describe('lorapipe score: bad input is exit 2 with the place and the fix, no stack trace', () => {
  const model = join(SHAPES, 'qwen2-tied-kv1')

  test('an input file that does not exist', () => {
    assertClean(lorapipe(['score', '--model', model, '--input', '/nonexistent/rows.jsonl']), /error: \/nonexistent\/rows\.jsonl: .*(not found|does not exist)/)
  })

  test('a malformed line is named by its number', () => {
    const file = join(tmp(), 'rows.jsonl')
    writeFileSync(file, '{"input_ids": [1, 2, 3]}\n{"input_ids": [1, 2,\n')
    assertClean(lorapipe(['score', '--model', model, '--input', file]), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: malformed JSON`))
  })

  test('a chat row with an unknown role', () => {
    const file = jsonl([{ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }, { messages: [{ role: 'bot', content: 'hi' }, { role: 'assistant', content: 'hello' }] }])
    assertClean(lorapipe(['score', '--model', model, '--input', file]), /rows\.jsonl:2: message 1 has the unknown role "bot"; roles must be one of system, user, assistant/)
  })

  test('a row with no labelled token', () => {
    const file = jsonl([{ input_ids: [1, 2, 3] }, { input_ids: [5, 6, 7], labels: [5, -100, -100] }])
    assertClean(lorapipe(['score', '--model', model, '--input', file]), /rows\.jsonl:2: no token to score: every label after the first position is -100/)
  })

  test('token ids beyond the model\'s vocabulary', () => {
    const file = jsonl([{ input_ids: [1, 2, 3] }, { input_ids: [1, 2, 40] }])
    assertClean(lorapipe(['score', '--model', model, '--input', file]), /rows\.jsonl:2: token id 40 at position 2 is outside the vocabulary: the model's vocabulary has 40 tokens \(ids 0 to 39\)/)
  })

  test('a row of none of the kinds, and labels of the wrong length', () => {
    assertClean(lorapipe(['score', '--model', model, '--input', jsonl([{ sentence: 'x' }])]), /rows\.jsonl:1: nothing to score: a row has "text", "messages" \(a chat\), "prompt" and "completion", or "input_ids" .*its keys: sentence/)
    assertClean(lorapipe(['score', '--model', model, '--input', jsonl([{ input_ids: [1, 2, 3], labels: [1, 2] }])]), /rows\.jsonl:1: "labels" has 2 values but "input_ids" has 3/)
  })

  test('a text row for a model folder without a tokenizer', () => {
    assertClean(lorapipe(['score', '--model', model, '--input', jsonl([{ text: 'hello' }])]), /rows\.jsonl:1: a text row needs the model's tokenizer, which cannot be loaded: .*; or give the row's token ids as "input_ids"/)
  })

  test('a sequence classifier says to use predict', { skip: needsShared }, () => {
    assertClean(lorapipe(['score', '--model', shared('fixtures', 'tiny-distilbert'), '--input', jsonl([{ input_ids: [1, 2, 3] }])]), /DistilBertForSequenceClassification is a sequence-classification model; `lorapipe score` scores causal language models .*lorapipe predict/)
  })

  test('and predict, given a causal language model, says to use score', () => {
    assertClean(lorapipe(['predict', '--model', model, '--text', 'hello']), /Qwen2ForCausalLM is a causal-lm model; `lorapipe predict` classifies texts with a sequence classifier: score texts under a causal language model with `lorapipe score`/)
  })

  test('a model folder that does not exist, and --logits without --json', () => {
    assertClean(lorapipe(['score', '--model', '/nonexistent/model-dir', '--input', 'x.jsonl'], { env: { HF_HUB_OFFLINE: '1' } }), /error: the model folder \/nonexistent\/model-dir does not exist/)
    assertClean(lorapipe(['score', '--model', model, '--input', 'x.jsonl', '--logits']), /--logits prints every position's logits as JSON: add --json/)
  })
})
