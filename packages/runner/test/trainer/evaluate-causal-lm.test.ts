// Evaluation of a causal LM over a split: the loss is the mean over all labelled tokens of the split,
// whatever the batch size and with packed sequences too, perplexity its exp; on the tiny-llama
// golden batch it is transformers' loss of that batch.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { selectBackend } from '../../src/backend/select.ts'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomCausalLm, loadCausalLm } from '../../src/models/load.ts'
import { evaluateCausalLm } from '../../src/trainer/evaluate-causal-lm.ts'
import type { SftSequence } from '../../src/data/sft/packing.ts'
import { Rng } from '../../src/nn/rng.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

before(async () => {
  await selectBackend({ backend: 'wasm', threads: 2, env: {} })
})

/** Sequences of 3..14 tokens, the first third of each unlabelled (a prompt). */
function sequences(n: number, vocab: number): SftSequence[] {
  const rng = new Rng(5)
  return Array.from({ length: n }, () => {
    const len = 3 + Math.floor(rng.uniform() * 12)
    const ids = Int32Array.from({ length: len }, () => 1 + Math.floor(rng.uniform() * (vocab - 1)))
    const prompt = Math.ceil(len / 3)
    return { inputIds: ids, labels: ids.map((t, i) => (i < prompt ? -100 : t)) }
  })
}

describe('causal-LM evaluation', () => {
  test('the loss is the mean over every labelled token of the split, the same for any batch size; perplexity is its exp', () => {
    const model = createRandomCausalLm(parseModelConfig({ model_type: 'llama', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, initializer_range: 0.3 }), { seed: 1 })
    const split = sequences(11, 40)
    const labelled = split.reduce((n, s) => n + s.labels.slice(1).filter((y) => y !== -100).length, 0)
    const results = [1, 4, 11].map((batchSize) => evaluateCausalLm(model, split, { batchSize, padId: 0 }))
    for (const r of results) {
      assert.equal(r.tokens, labelled)
      assert.ok(Math.abs(r.loss - results[0]!.loss) < 1e-6, `${r.loss} vs ${results[0]!.loss}`)
      assert.ok(Math.abs(r.perplexity - Math.exp(r.loss)) < 1e-9)
    }
    // Packed in pairs (labels -100 on each example's first token, as packing sets them): the same tokens, the same loss.
    const packed: SftSequence[] = []
    for (let i = 0; i < split.length; i += 2) {
      const parts = split.slice(i, i + 2)
      packed.push({
        inputIds: Int32Array.from(parts.flatMap((p) => [...p.inputIds])),
        labels: Int32Array.from(parts.flatMap((p) => [-100, ...p.labels.slice(1)])),
        segments: Int32Array.from(parts.map((p) => p.inputIds.length)),
      })
    }
    const p = evaluateCausalLm(model, packed, { batchSize: 3, padId: 0 })
    assert.equal(p.tokens, labelled)
    assert.ok(Math.abs(p.loss - results[0]!.loss) < 1e-6, `packed ${p.loss} vs ${results[0]!.loss}`)
  })

  test('on the six golden tiny-llama examples it is transformers\' loss of the batch', { skip: needsShared }, async () => {
    const g = JSON.parse(readFileSync(shared('fixtures/golden/llama-sft.json'), 'utf8'))
    const { model } = await loadCausalLm(shared('fixtures/tiny-llama'))
    const split: SftSequence[] = (g.input_ids as number[][]).map((ids, i) => ({
      inputIds: Int32Array.from(ids.slice(0, g.lengths[i])),
      labels: Int32Array.from((g.labels[i] as number[]).slice(0, g.lengths[i])),
    }))
    for (const batchSize of [1, 4]) {
      const r = evaluateCausalLm(model, split, { batchSize, padId: 0 })
      assert.equal(r.tokens, 16)
      assert.ok(Math.abs(r.loss - g.base_loss) < 1e-5, `${r.loss} vs ${g.base_loss}`)
    }
    model.dispose()
  })
})
