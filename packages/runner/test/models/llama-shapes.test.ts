// Shapes of the Llama family that the tiny-llama fixture lacks, against peer/llama.py (the reference
// outputs in ../fixtures/llama-shapes, made by make_llama_shapes.py; no Python needed here): Qwen2's
// q/k/v biases, tied embeddings, one key/value head and a per-layer sliding window from BF16 shards;
// Llama 3 rope scaling, head_dim != hidden / heads, as many key/value heads as heads and Llama's
// attention/MLP biases from F16 weights; Mistral's sliding window and transformers v5's
// rope_parameters. Each through the real loader and a PEFT adapter on all-linear, on both
// matrix-product paths. Also: a packed row computes what its examples compute one by one.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { loadBlas } from '../../src/backend/blas/library.ts'
import { loadCausalLm } from '../../src/models/load.ts'
import { causalLmLoss, causalLmLossSums } from '../../src/models/causal-lm-loss.ts'
import type { CausalLm, LabelledDecoderInputs } from '../../src/models/causal-lm.ts'
import { adapterKeyToParam, loadAdapter } from '../../src/lora/adapter.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'

const FIXTURES = new URL('../fixtures/llama-shapes/', import.meta.url).pathname
const CASES = ['qwen2-tied-kv1', 'llama3-headdim', 'mistral-window'] as const
const found = loadBlas({ threads: 2 })
const PATHS = [...(found.ok ? [['blas', {}] as const] : []), ['wasm', { LORAPIPE_BLAS: 'off' }] as const]

interface Expected {
  storage: string
  input_ids: number[][]
  attention_mask: number[][]
  labels: number[][]
  base_loss: number
  lora_loss: number
}

const measured: string[] = []
after(() => console.log(`# llama shapes errors:\n${measured.map((m) => `#   ${m}`).join('\n')}`))

function batchOf(e: Expected): LabelledDecoderInputs {
  return {
    batchSize: e.input_ids.length,
    seqLen: e.input_ids[0]!.length,
    inputIds: Int32Array.from(e.input_ids.flat()),
    attentionMask: Int32Array.from(e.attention_mask.flat()),
    labels: Int32Array.from(e.labels.flat()),
  }
}

/** max |ours - peer| over the real (unpadded) positions. */
function logitsError(model: CausalLm, batch: LabelledDecoderInputs, want: ArrayLike<number>): number {
  const out = model.logits(batch)
  const got = out.dataSync()
  out.dispose()
  const V = model.vocabSize
  let max = 0
  for (let f = 0; f < batch.batchSize * batch.seqLen; f++) {
    if (batch.attentionMask[f] === 0) continue
    for (let k = 0; k < V; k++) max = Math.max(max, Math.abs(got[f * V + k]! - want[f * V + k]!))
  }
  return max
}

function lossOf(model: CausalLm, batch: LabelledDecoderInputs): number {
  const l = causalLmLoss(model, batch)
  const v = l.dataSync()[0]!
  l.dispose()
  return v
}

for (const [path, env] of PATHS) {
  describe(`Llama-family shapes match peer/llama.py (${path})`, () => {
    for (const name of CASES) {
      test(`${name}: base and LoRA logits, losses and LoRA gradients`, async () => {
        await selectBackend({ backend: 'wasm', threads: 2, env })
        const dir = `${FIXTURES}${name}`
        const e = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as Expected
        const want = (await readSafetensors(`${dir}/expected.safetensors`)).tensors
        const { model } = await loadCausalLm(dir)
        const batch = batchOf(e)
        const base = logitsError(model, batch, want.get('base_logits')!.data)
        const baseLoss = Math.abs(lossOf(model, batch) - e.base_loss)
        assert.ok(base <= 1e-4, `base logits differ by ${base}`)
        assert.ok(baseLoss <= 1e-5, `base loss differs by ${baseLoss}`)

        await loadAdapter(model, `${dir}/adapter`, { isTrainable: true })
        const lora = logitsError(model, batch, want.get('lora_logits')!.data)
        const loraLoss = Math.abs(lossOf(model, batch) - e.lora_loss)
        assert.ok(lora <= 1e-4, `LoRA logits differ by ${lora}`)
        assert.ok(loraLoss <= 1e-5, `LoRA loss differs by ${loraLoss}`)
        const { value, grads } = valueAndGrads(() => causalLmLoss(model, batch, { training: true }), model.trainableParameters())
        value.dispose()
        const gradKeys = [...want.keys()].filter((k) => k.startsWith('grad.'))
        assert.equal(gradKeys.length, grads.size, 'one gradient per LoRA matrix')
        let worst = 0
        for (const key of gradKeys) {
          const t = want.get(key)!.data
          const d = grads.get(adapterKeyToParam(key.slice('grad.'.length)))!.dataSync()
          for (let i = 0; i < t.length; i++) {
            const err = Math.abs(d[i]! - t[i]!)
            assert.ok(err <= 1e-6 || err <= 1e-3 * Math.abs(t[i]!), `${key}[${i}]: ${d[i]} vs ${t[i]}`)
            if (err > 1e-6) worst = Math.max(worst, err / Math.abs(t[i]!))
          }
        }
        tf.dispose([...grads.values()])
        measured.push(`${path} ${name} (${e.storage}): logits ${base.toExponential(2)} / LoRA ${lora.toExponential(2)}, losses ${baseLoss.toExponential(2)} / ${loraLoss.toExponential(2)}, gradients ${worst.toExponential(2)} relative beyond 1e-6 absolute`)
        model.dispose()
      })
    }
  })
}

describe('packed sequences', () => {
  test('a packed row (segment ids, positions restarting) gives each example the logits and loss it has alone', async () => {
    await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
    // Mistral's sliding window and a second segment longer than it: the mask must be both.
    const dir = `${FIXTURES}mistral-window`
    const e = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as Expected
    const { model } = await loadCausalLm(dir)
    const rows = e.input_ids.map((r, i) => r.slice(0, e.attention_mask[i]!.reduce((a, b) => a + b, 0)))
    const labels = e.labels.map((r, i) => r.slice(0, rows[i]!.length))
    // Row 0 alone; rows 1 and 2 packed into one row of 14 plus 2 padding; labels -100 on each example's first token (TRL).
    const L = 16
    const packed = [...rows[1]!, ...rows[2]!]
    const seg = [...rows[1]!.map(() => 1), ...rows[2]!.map(() => 2)]
    const pos = [...rows[1]!.map((_, k) => k), ...rows[2]!.map((_, k) => k)]
    const pad = (a: number[], v: number) => [...a, ...new Array(L - a.length).fill(v)]
    const batch: LabelledDecoderInputs = {
      batchSize: 2,
      seqLen: L,
      inputIds: Int32Array.from([...pad(rows[0]!, 0), ...pad(packed, 0)]),
      attentionMask: Int32Array.from([...pad(rows[0]!.map(() => 1), 0), ...pad(packed.map(() => 1), 0)]),
      positionIds: Int32Array.from([...pad(rows[0]!.map((_, k) => k), 0), ...pad(pos, 0)]),
      segmentIds: Int32Array.from([...pad(rows[0]!.map(() => 1), 0), ...pad(seg, 0)]),
      labels: Int32Array.from([...pad(labels[0]!, -100), ...pad([-100, ...labels[1]!.slice(1), -100, ...labels[2]!.slice(1)], -100)]),
    }
    const alone = (i: number): LabelledDecoderInputs => ({
      batchSize: 1,
      seqLen: rows[i]!.length,
      inputIds: Int32Array.from(rows[i]!),
      attentionMask: new Int32Array(rows[i]!.length).fill(1),
      labels: Int32Array.from([-100, ...labels[i]!.slice(1)]),
    })
    const V = model.vocabSize
    const all = model.logits(batch).dataSync()
    let max = 0
    for (const [i, row, offset] of [[0, 0, 0], [1, 1, 0], [2, 1, rows[1]!.length]] as const) {
      const one = model.logits(alone(i)).dataSync()
      for (let t = 0; t < rows[i]!.length; t++) {
        for (let k = 0; k < V; k++) max = Math.max(max, Math.abs(all[(row * L + offset + t) * V + k]! - one[t * V + k]!))
      }
    }
    assert.ok(max <= 1e-5, `packed logits differ from one-by-one by ${max}`)
    // ... so the summed loss over the packed batch is the sum over the examples alone.
    const sums = causalLmLossSums(model, batch)
    const singles = [0, 1, 2].map((i) => causalLmLossSums(model, alone(i)))
    assert.equal(sums.tokens, singles.reduce((n, s) => n + s.tokens, 0))
    assert.ok(Math.abs(sums.lossSum - singles.reduce((n, s) => n + s.lossSum, 0)) <= 1e-5)
    // Without the segment ids the second example would see the first: the logits would differ.
    const leaky = model.logits({ ...batch, segmentIds: null }).dataSync()
    let leak = 0
    for (let k = 0; k < V; k++) leak = Math.max(leak, Math.abs(leaky[(1 * L + rows[1]!.length) * V + k]! - all[(1 * L + rows[1]!.length) * V + k]!))
    assert.ok(leak > 1e-3, 'the segment mask changes what the second example sees')
    model.dispose()
  })
})
