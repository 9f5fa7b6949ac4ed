// A model's size from its config, in closed form, and the refusal of configs that cannot fit in
// memory, before anything is allocated. Reference counts: transformers' num_parameters() for the
// published configs (DistilBERT-base 66,955,010 with a 2-label head, BERT-base 109,483,778).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseModelConfig } from '../../src/models/config.ts'
import { ModelConfigError } from '../../src/models/config-fields.ts'
import { modelSpec, parameterCount } from '../../src/models/families.ts'
import { elementCount } from '../../src/models/spec.ts'
import { memoryLimit, sizeProblem } from '../../src/models/size.ts'
import { planLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import { LoraError } from '../../src/lora/error.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'
import { totalmem } from 'node:os'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from './support.ts'

const distil = { model_type: 'distilbert', vocab_size: 100, dim: 16, n_layers: 3, n_heads: 2, hidden_dim: 40, max_position_embeddings: 20, num_labels: 3 }
const bert = { model_type: 'bert', vocab_size: 90, hidden_size: 12, num_hidden_layers: 2, num_attention_heads: 3, intermediate_size: 30, max_position_embeddings: 16, type_vocab_size: 2, num_labels: 4 }
const specCount = (raw: object) => modelSpec(parseModelConfig(raw)).params.reduce((n, p) => n + elementCount(p.shape), 0)

describe('model size from the config', () => {
  test('the closed form equals the sum over the architecture layout, for both architectures', () => {
    for (const raw of [distil, bert, { ...distil, n_layers: 1, num_labels: 1 }, { ...bert, type_vocab_size: 1 }]) {
      assert.equal(parameterCount(parseModelConfig(raw)), specCount(raw))
    }
  })

  test('the published base configs give transformers\' parameter counts', { skip: needsShared }, () => {
    const cfg = (name: string) => JSON.parse(readFileSync(shared('fixtures', 'configs', `${name}.config.json`), 'utf8'))
    assert.equal(parameterCount(parseModelConfig(cfg('distilbert-base-uncased'), 'c', { numLabels: 2 })), 66_955_010)
    assert.equal(parameterCount(parseModelConfig(cfg('bert-base-uncased'), 'c', { numLabels: 2 })), 109_483_778)
  })

  test('a config that cannot fit in memory is refused with the figures, at once', () => {
    for (const [raw, count] of [
      [{ ...distil, dim: 768, n_heads: 12, hidden_dim: 3072, n_layers: 1_000_000 }, /this model has [\d,]+ parameters, [\d.]+ \w+ in memory, more than (this machine's memory|the wasm backend's memory|LORAPIPE_MEMORY_LIMIT) \(/],
      [{ ...distil, dim: 1e7, n_heads: 1, vocab_size: 30522 }, /check n_layers, dim, hidden_dim, vocab_size and max_position_embeddings/],
      [{ ...distil, hidden_dim: 1e12 }, /parameters/],
      [{ ...distil, vocab_size: 1e13 }, /parameters/],
      [{ ...bert, num_hidden_layers: 1e9 }, /check num_hidden_layers, hidden_size, intermediate_size/],
      [{ ...bert, max_position_embeddings: 1e14 }, /parameters/],
    ] as const) {
      const t0 = Date.now()
      assert.throws(() => parseModelConfig(raw), (e: unknown) => e instanceof ModelConfigError && count.test(e.reason), JSON.stringify(raw))
      assert.ok(Date.now() - t0 < 5000, 'measured, not built')
    }
  })

  test('on the wasm backend a model must fit in its 4 GiB memory, however much the machine has', async () => {
    // 1.6e9 parameters: 6 GiB as float32.
    const big = { ...distil, dim: 4000, n_heads: 4, hidden_dim: 16000, n_layers: 12 }
    await useBackend('wasm')
    assert.equal(tf.getBackend(), 'wasm')
    assert.throws(() => parseModelConfig(big), (e: unknown) => e instanceof ModelConfigError && (totalmem() <= 4 * 1024 ** 3 || /more than the wasm backend's memory \(4\.0 GiB\)/.test(e.reason)))
    await useBackend('cpu')
    if (totalmem() > 8 * 1024 ** 3) assert.doesNotThrow(() => parseModelConfig(big))
  })

  test('LORAPIPE_MEMORY_LIMIT lowers the limit, and names itself', () => {
    const l = memoryLimit({ LORAPIPE_MEMORY_LIMIT: '4096' })
    assert.deepEqual(l, { bytes: 4096, name: 'LORAPIPE_MEMORY_LIMIT' })
    assert.match(sizeProblem('this model', parameterCount(parseModelConfig(distil)), 4, l) ?? '', /more than LORAPIPE_MEMORY_LIMIT \(4\.0 KiB\)/)
    assert.equal(memoryLimit({ LORAPIPE_MEMORY_LIMIT: 'lots' }).name, "this machine's memory")
  })

  test('absurd num_labels is refused before label maps are built', () => {
    assert.throws(() => parseModelConfig({ ...distil, num_labels: 1e9 }), /num_labels is 1,000,000,000; at most 1,000,000 classes/)
    assert.throws(() => parseModelConfig(distil, 'c', { numLabels: 5e6 }), /at most 1,000,000/)
  })

  test('sizeProblem names the need and the limit', () => {
    assert.equal(sizeProblem('x', 10, 4, 40), undefined)
    assert.equal(sizeProblem('x', 11, 4, 40), "x has 11 parameters, 44 bytes in memory, more than this machine's memory (40 bytes)")
    assert.equal(sizeProblem('x', 3e12, 16, 16 * 1024 ** 3), "x has 3,000,000,000,000 parameters, 44 TiB in memory, more than this machine's memory (16 GiB)")
    assert.equal(sizeProblem('x', 2e9, 4, { bytes: 4 * 1024 ** 3, name: "the wasm backend's memory" }), "x has 2,000,000,000 parameters, 7.5 GiB in memory, more than the wasm backend's memory (4.0 GiB)")
  })

  test('a LoRA rank whose adapter cannot fit is a LoraError naming r, before any LoRA weight exists', () => {
    const spec = modelSpec(parseModelConfig(distil))
    assert.ok(planLora(spec, 'distilbert', loraSettings({ target_modules: ['q_lin', 'v_lin'], r: 8 })).targets.length > 0)
    assert.throws(
      () => planLora(spec, 'distilbert', loraSettings({ target_modules: ['q_lin', 'v_lin'], r: 1e9 })),
      (e: unknown) => e instanceof LoraError && /^r 1,000,000,000 is too large: the adapter has 192,000,000,000 parameters/.test(e.reason),
    )
    assert.throws(() => planLora(spec, 'distilbert', loraSettings({ target_modules: ['q_lin'], r: 4, rank_pattern: { q_lin: 1e12 } })), LoraError)
  })
})
