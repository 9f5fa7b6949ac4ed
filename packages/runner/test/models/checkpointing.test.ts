// Activation checkpointing (ForwardOptions.checkpointing: each decoder layer recomputed in the
// backward pass) changes memory, not numbers: the loss and every gradient equal those of the plain
// backward pass, the golden LoRA gradients of the tiny Llama are met, LoRA dropout draws the same
// masks in the recomputation (and the random stream ends where it would without it), padded rows
// (the unpadded layout's row indices) recompute after the forward's layout is gone, and no tensor
// is left behind.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { loadCausalLm } from '../../src/models/load.ts'
import { causalLmLoss } from '../../src/models/causal-lm-loss.ts'
import type { CausalLm, LabelledDecoderInputs } from '../../src/models/causal-lm.ts'
import { adapterKeyToParam, injectLora, loadAdapter, loraSettings } from '../../src/lora/index.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { Rng } from '../../src/nn/rng.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

const SHAPES = new URL('../fixtures/llama-shapes/', import.meta.url).pathname

interface Rows {
  input_ids: number[][]
  attention_mask: number[][]
  labels: number[][]
}

function batchOf(e: Rows): LabelledDecoderInputs {
  return {
    batchSize: e.input_ids.length,
    seqLen: e.input_ids[0]!.length,
    inputIds: Int32Array.from(e.input_ids.flat()),
    attentionMask: Int32Array.from(e.attention_mask.flat()),
    labels: Int32Array.from(e.labels.flat()),
  }
}

/** Loss and gradients of one training step, as plain arrays. */
function step(model: CausalLm, batch: LabelledDecoderInputs, checkpointing: boolean, rng?: Rng): { loss: number; grads: Map<string, Float32Array> } {
  const { value, grads } = valueAndGrads(() => causalLmLoss(model, batch, { training: true, checkpointing, ...(rng ? { rng } : {}) }), model.trainableParameters())
  const out = { loss: value.dataSync()[0]!, grads: new Map([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array])) }
  tf.dispose([value, ...grads.values()])
  return out
}

function maxDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  assert.deepEqual([...a.keys()], [...b.keys()])
  let max = 0
  for (const [k, x] of a) {
    const y = b.get(k)!
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!))
  }
  return max
}

describe('activation checkpointing', () => {
  test('padded rows with LoRA dropout: the same loss, gradients and random stream as the plain backward pass, no tensor left', async () => {
    await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
    const dir = `${SHAPES}mistral-window`
    const { model } = await loadCausalLm(dir)
    // Fresh LoRA on every projection with dropout: masks come from the step's random stream.
    injectLora(model, loraSettings({ r: 2, alpha: 4, dropout: 0.3, target_modules: 'all-linear' }), { seed: 3 })
    // B is zero after injection; make it non-zero so that the adapter (and its dropout) matter.
    for (const p of model.trainableParameters()) if (p.name.endsWith('lora_B.weight')) p.assign(tf.randomNormal(p.shape, 0, 0.5, 'float32', 7))
    const batch = batchOf(JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as Rows)
    assert.ok(batch.attentionMask.includes(0), 'the batch has padding (the layout keeps row indices)')

    const plainRng = new Rng(11)
    const plain = step(model, batch, false, plainRng)
    const before = tf.memory().numTensors
    const ckptRng = new Rng(11)
    const ckpt = step(model, batch, true, ckptRng)
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind')
    assert.ok(Math.abs(plain.loss - ckpt.loss) <= 1e-6, `loss ${ckpt.loss} vs ${plain.loss}`)
    const diff = maxDifference(plain.grads, ckpt.grads)
    assert.ok(diff <= 1e-6, `gradients differ by ${diff}`)
    assert.equal(ckptRng.nextUint32(), plainRng.nextUint32(), 'the random stream ends in the same state')
    // And dropout did act: another stream gives another loss.
    const other = step(model, batch, true, new Rng(12))
    assert.notEqual(other.loss, ckpt.loss)
    model.dispose()
  })

  test('eval mode ignores it (no backward pass to recompute for)', async () => {
    await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
    const dir = `${SHAPES}qwen2-tied-kv1`
    const { model } = await loadCausalLm(dir)
    const batch = batchOf(JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as Rows)
    const a = causalLmLoss(model, batch)
    const b = causalLmLoss(model, batch, { checkpointing: true })
    assert.equal(a.dataSync()[0], b.dataSync()[0])
    tf.dispose([a, b])
    model.dispose()
  })

  test('the tiny Llama with the golden adapter: the golden LoRA gradients (1e-3 relative, 1e-6 absolute)', { skip: needsShared }, async () => {
    await selectBackend({ backend: 'wasm', threads: 2 })
    const g = JSON.parse(readFileSync(shared('fixtures/golden/llama-sft.json'), 'utf8')) as Rows
    const { model } = await loadCausalLm(shared('fixtures/tiny-llama'))
    await loadAdapter(model, shared('fixtures/golden/llama-lora-adapter'), { isTrainable: true })
    const batch = batchOf(g)
    const ckpt = step(model, batch, true)
    const gold = (await readSafetensors(shared('fixtures/golden/llama-lora-grads.safetensors'))).tensors
    assert.equal(ckpt.grads.size, gold.size)
    for (const [key, t] of gold) {
      const d = ckpt.grads.get(adapterKeyToParam(key))!
      for (let i = 0; i < t.data.length; i++) {
        const err = Math.abs(d[i]! - t.data[i]!)
        assert.ok(err <= 1e-6 || err <= 1e-3 * Math.abs(t.data[i]!), `${key}[${i}]: ${d[i]} vs ${t.data[i]}`)
      }
    }
    model.dispose()
  })
})
