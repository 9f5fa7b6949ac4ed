// The tiny Llama of ../shared against PyTorch (../shared/fixtures/golden/llama-*, made by
// peer/llama.py), through the real loader and the real PEFT adapter: base and LoRA logits within
// 1e-4, losses within 1e-5, the 28 LoRA gradients within 1e-3 relative (1e-6 absolute near zero),
// and 10 AdamW steps (trainer/adamw.ts, as the trainer runs it) within 1e-4 on the weights and 1e-5
// on the losses. On both matrix-product paths: the system BLAS and the wasm kernels.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { describeBackend, selectBackend } from '../../src/backend/select.ts'
import { loadBlas } from '../../src/backend/blas/library.ts'
import { loadCausalLm } from '../../src/models/load.ts'
import { causalLmLoss, causalLmLossSums } from '../../src/models/causal-lm-loss.ts'
import type { CausalLm, LabelledDecoderInputs } from '../../src/models/causal-lm.ts'
import { adapterKeyToParam, loadAdapter } from '../../src/lora/adapter.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { AdamW } from '../../src/trainer/adamw.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

const found = loadBlas({ threads: 2 })
const needsBlas: string | false = found.ok ? false : `skipped: no system BLAS (${found.why}); Debian/Ubuntu: apt-get install libopenblas0`

interface Golden {
  input_ids: number[][]
  attention_mask: number[][]
  labels: number[][]
  base_loss: number
  base_loss_per_example: number[]
  label_tokens_per_example: number[]
  lora_loss: number
  lora_loss_per_example: number[]
  logits_positions: number[][]
  adamw: { steps: number; lr: number; betas: [number, number]; eps: number; weight_decay: number; losses: number[]; loss_after: number }
}

/** The largest errors seen per check and path, printed at the end (the report quotes them). */
const measured: string[] = []
after(() => {
  if (measured.length > 0) console.log(`# llama golden errors:\n${measured.map((m) => `#   ${m}`).join('\n')}`)
})

function batchOf(g: Golden): LabelledDecoderInputs {
  return {
    batchSize: g.input_ids.length,
    seqLen: g.input_ids[0]!.length,
    inputIds: Int32Array.from(g.input_ids.flat()),
    attentionMask: Int32Array.from(g.attention_mask.flat()),
    labels: Int32Array.from(g.labels.flat()),
  }
}

/** max |ours - golden| over the golden logits rows (example i, positions logits_positions[i]). */
function logitsError(model: CausalLm, g: Golden, batch: LabelledDecoderInputs, gold: Float32Array | Int32Array): number {
  const out = model.logits(batch)
  const v = out.dataSync()
  out.dispose()
  const V = model.vocabSize
  const L = batch.seqLen
  const P = g.logits_positions[0]!.length
  let max = 0
  g.logits_positions.forEach((ps, i) =>
    ps.forEach((p, j) => {
      for (let k = 0; k < V; k++) max = Math.max(max, Math.abs(v[(i * L + p) * V + k]! - gold[(i * P + j) * V + k]!))
    }),
  )
  return max
}

function lossErrors(model: CausalLm, batch: LabelledDecoderInputs, mean: number, perExample: number[], tokens: number[]): number {
  const loss = causalLmLoss(model, batch)
  const value = loss.dataSync()[0]!
  loss.dispose()
  let max = Math.abs(value - mean)
  const sums = causalLmLossSums(model, batch)
  assert.deepEqual([...sums.perRow.tokens], tokens, 'labelled tokens per example')
  perExample.forEach((want, i) => (max = Math.max(max, Math.abs(sums.perRow.lossSum[i]! / sums.perRow.tokens[i]! - want))))
  return max
}

async function goldenLlama(path: string): Promise<void> {
  const g = JSON.parse(readFileSync(shared('fixtures/golden/llama-sft.json'), 'utf8')) as Golden
  const logits = (await readSafetensors(shared('fixtures/golden/llama-logits.safetensors'))).tensors
  const { model } = await loadCausalLm(shared('fixtures/tiny-llama'))
  const batch = batchOf(g)

  const baseLogits = logitsError(model, g, batch, logits.get('base_logits')!.data)
  const baseLoss = lossErrors(model, batch, g.base_loss, g.base_loss_per_example, g.label_tokens_per_example)
  measured.push(`${path}: base logits ${baseLogits.toExponential(2)}, base losses ${baseLoss.toExponential(2)}`)
  assert.ok(baseLogits <= 1e-4, `base logits differ by ${baseLogits}`)
  assert.ok(baseLoss <= 1e-5, `base loss differs by ${baseLoss}`)

  const lora = await loadAdapter(model, shared('fixtures/golden/llama-lora-adapter'), { isTrainable: true })
  assert.equal(lora.layers.size, 14)
  const loraLogits = logitsError(model, g, batch, logits.get('lora_logits')!.data)
  const loraLoss = lossErrors(model, batch, g.lora_loss, g.lora_loss_per_example, g.label_tokens_per_example)
  assert.ok(loraLogits <= 1e-4, `LoRA logits differ by ${loraLogits}`)
  assert.ok(loraLoss <= 1e-5, `LoRA loss differs by ${loraLoss}`)

  // Gradients of the mean loss for the 28 LoRA matrices
  const params = model.trainableParameters()
  assert.equal(params.length, 28)
  const { value, grads } = valueAndGrads(() => causalLmLoss(model, batch, { training: true }), params)
  value.dispose()
  const gold = (await readSafetensors(shared('fixtures/golden/llama-lora-grads.safetensors'))).tensors
  assert.equal(gold.size, 28)
  let worstRel = 0
  for (const [key, t] of gold) {
    const d = grads.get(adapterKeyToParam(key))!.dataSync()
    for (let i = 0; i < t.data.length; i++) {
      const want = t.data[i]!
      const err = Math.abs(d[i]! - want)
      assert.ok(err <= 1e-6 || err <= 1e-3 * Math.abs(want), `${key}[${i}]: ${d[i]} vs ${want}`)
      if (err > 1e-6) worstRel = Math.max(worstRel, err / Math.abs(want))
    }
  }
  tf.dispose([...grads.values()])
  measured.push(`${path}: LoRA logits ${loraLogits.toExponential(2)}, LoRA losses ${loraLoss.toExponential(2)}, gradients max relative ${worstRel.toExponential(2)} (beyond 1e-6 absolute)`)

  // 10 AdamW steps on the same batch, LoRA matrices only, decay on all of them (torch.optim.AdamW)
  const a = g.adamw
  const opt = new AdamW(params, { beta1: a.betas[0], beta2: a.betas[1], eps: a.eps, weightDecay: a.weight_decay })
  let worstStepLoss = 0
  for (let s = 0; s < a.steps; s++) {
    const step = valueAndGrads(() => causalLmLoss(model, batch, { training: true }), params)
    worstStepLoss = Math.max(worstStepLoss, Math.abs(step.value.dataSync()[0]! - a.losses[s]!))
    opt.apply(step.grads, a.lr)
    tf.dispose([step.value, ...step.grads.values()])
  }
  const after = causalLmLoss(model, batch)
  worstStepLoss = Math.max(worstStepLoss, Math.abs(after.dataSync()[0]! - a.loss_after))
  after.dispose()
  const trained = (await readSafetensors(shared('fixtures/golden/llama-lora-adamw.safetensors'))).tensors
  let worstWeight = 0
  for (const [key, t] of trained) {
    const d = model.parameter(adapterKeyToParam(key)).read()
    for (let i = 0; i < t.data.length; i++) worstWeight = Math.max(worstWeight, Math.abs(d[i]! - t.data[i]!))
  }
  measured.push(`${path}: AdamW losses ${worstStepLoss.toExponential(2)}, AdamW weights ${worstWeight.toExponential(2)}`)
  assert.ok(worstStepLoss <= 1e-5, `AdamW losses differ by ${worstStepLoss}`)
  assert.ok(worstWeight <= 1e-4, `AdamW weights differ by ${worstWeight}`)
  model.dispose()
}

describe('tiny-llama matches PyTorch (golden logits, losses, LoRA gradients, 10 AdamW steps)', { skip: needsShared }, () => {
  test('with the system BLAS behind the wasm backend', { skip: needsBlas }, async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, env: {} })
    assert.ok(info.blas, describeBackend(info))
    await goldenLlama('blas')
  })

  test('with the wasm kernels (LORAPIPE_BLAS=off)', async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
    assert.equal(info.blas, null)
    await goldenLlama('wasm')
  })
})
