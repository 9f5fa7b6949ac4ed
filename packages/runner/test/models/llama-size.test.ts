// Decoder sizes from config.json alone (no weights allocated): the closed-form count equals the
// layout's, and both equal what PEFT's print_trainable_parameters prints for the published configs
// in ../shared/fixtures/configs, with LoRA r=16 on the seven projections (the README's table).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { configFields } from '../../src/models/config-fields.ts'
import { findFamily, modelSpec, parameterCount } from '../../src/models/families.ts'
import type { ModelConfig } from '../../src/models/family.ts'
import { elementCount } from '../../src/models/spec.ts'
import { countPlannedParameters, formatParameterCount, planLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

/** The family's own reading of a config, without the memory check parseModelConfig adds (a 1.2B model is 5 GB). */
function configOf(raw: Record<string, unknown>): ModelConfig {
  return findFamily(raw.model_type)!.parseConfig(configFields(raw, 'config.json', {}))
}

const specCount = (c: ModelConfig) => modelSpec(c).params.reduce((n, p) => n + elementCount(p.shape), 0)
const SEVEN = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
const small = { vocab_size: 50, hidden_size: 24, intermediate_size: 40, num_hidden_layers: 3, num_attention_heads: 6, num_key_value_heads: 2 }

describe('decoder size from the config', () => {
  test('the closed form equals the sum over the layout, with biases, tied embeddings and a head_dim of its own', () => {
    for (const raw of [
      { model_type: 'llama', ...small },
      { model_type: 'llama', ...small, attention_bias: true, mlp_bias: true, tie_word_embeddings: true },
      { model_type: 'llama', ...small, head_dim: 10 },
      { model_type: 'mistral', ...small, num_key_value_heads: 1 },
      { model_type: 'qwen2', ...small, tie_word_embeddings: true, num_key_value_heads: 6 },
    ]) {
      const c = configOf(raw)
      assert.equal(parameterCount(c), specCount(c), JSON.stringify(raw))
    }
  })

  test('a tied lm_head is counted once and is the embedding matrix under a second name', () => {
    const spec = modelSpec(configOf({ model_type: 'qwen2', ...small, tie_word_embeddings: true }))
    assert.ok(!spec.params.some((p) => p.name === 'lm_head.weight'))
    assert.equal(spec.tied?.get('lm_head.weight'), 'model.embed_tokens.weight')
    assert.equal(spec.linears.find((l) => l.path === 'lm_head')?.tiedWeight, 'model.embed_tokens.weight')
  })

  test('the published configs give PEFT\'s print_trainable_parameters with LoRA r=16 on the seven projections', { skip: needsShared }, () => {
    const table: Array<[string, number, string]> = [
      ['smollm2-135m', 134_515_008, 'trainable params: 4,884,480 || all params: 139,399,488 || trainable%: 3.5039'],
      ['qwen2.5-0.5b', 494_032_768, 'trainable params: 8,798,208 || all params: 502,830,976 || trainable%: 1.7497'],
      ['llama-3.2-1b', 1_235_814_400, 'trainable params: 11,272,192 || all params: 1,247,086,592 || trainable%: 0.9039'],
      ['tinyllama-1.1b', 1_100_048_384, 'trainable params: 12,615,680 || all params: 1,112,664,064 || trainable%: 1.1338'],
    ]
    for (const [name, total, peft] of table) {
      const c = configOf(JSON.parse(readFileSync(shared('fixtures', 'configs', `${name}.json`), 'utf8')))
      assert.equal(parameterCount(c), total, name)
      assert.equal(specCount(c), total, name)
      const spec = modelSpec(c)
      const plan = planLora(spec, c.modelType, loraSettings({ r: 16, alpha: 32, target_modules: SEVEN, task_type: 'CAUSAL_LM' }))
      assert.equal(formatParameterCount(countPlannedParameters(spec, plan)), peft, name)
    }
  })
})

describe('LoRA targets of decoders, as PEFT picks them', () => {
  const c = configOf({ model_type: 'llama', ...small })
  const spec = modelSpec(c)
  const names = (targets: string[] | string | undefined, extra: object = {}) =>
    planLora(spec, c.modelType, loraSettings({ target_modules: targets, task_type: 'CAUSAL_LM', ...extra })).targets.map((t) => t.path)

  test('the default for llama, mistral and qwen2 is q_proj and v_proj', () => {
    for (const mt of ['llama', 'mistral', 'qwen2']) {
      const cc = configOf({ model_type: mt, ...small })
      const plan = planLora(modelSpec(cc), mt, loraSettings({ task_type: 'CAUSAL_LM' }))
      assert.deepEqual(
        plan.targets.map((t) => t.path),
        [0, 1, 2].flatMap((i) => [`model.layers.${i}.self_attn.q_proj`, `model.layers.${i}.self_attn.v_proj`]),
      )
    }
  })

  test('all-linear takes the seven projections of every layer and leaves out lm_head, tied or not', () => {
    const want = [0, 1, 2].flatMap((i) => SEVEN.map((n) => `model.layers.${i}.${n.endsWith('_proj') && ['gate_proj', 'up_proj', 'down_proj'].includes(n) ? 'mlp' : 'self_attn'}.${n}`))
    assert.deepEqual(new Set(names('all-linear')), new Set(want))
    const tied = configOf({ model_type: 'qwen2', ...small, tie_word_embeddings: true })
    const plan = planLora(modelSpec(tied), 'qwen2', loraSettings({ target_modules: 'all-linear', task_type: 'CAUSAL_LM' }))
    assert.ok(!plan.targets.some((t) => t.path === 'lm_head'))
    assert.equal(plan.targets.length, 21)
  })

  test('names and patterns select by the decoder\'s module names', () => {
    assert.deepEqual(names(['gate_proj']), [0, 1, 2].map((i) => `model.layers.${i}.mlp.gate_proj`))
    assert.deepEqual(names('.*\\.1\\.self_attn\\.(q|k)_proj'), ['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.k_proj'])
  })

  test('modules_to_save embed_tokens and lm_head train those matrices fully and save them with the adapter', () => {
    const plan = planLora(spec, 'llama', loraSettings({ target_modules: SEVEN, modules_to_save: ['embed_tokens', 'lm_head'], task_type: 'CAUSAL_LM' }))
    assert.deepEqual(plan.savedBaseParams, ['model.embed_tokens.weight', 'lm_head.weight'])
    const count = countPlannedParameters(spec, plan)
    const lora = plan.targets.reduce((n, t) => n + t.r * (t.inFeatures + t.outFeatures), 0)
    assert.equal(count.trainable, lora + 2 * 50 * 24)
  })

  test('with tied embeddings, modules_to_save embed_tokens or lm_head is refused, saying why', () => {
    const tied = modelSpec(configOf({ model_type: 'qwen2', ...small, tie_word_embeddings: true }))
    for (const m of ['lm_head', 'embed_tokens']) {
      assert.throws(
        () => planLora(tied, 'qwen2', loraSettings({ modules_to_save: [m], task_type: 'CAUSAL_LM' })),
        new RegExp(`modules_to_save "${m}": lm_head and model.embed_tokens share one weight in this model \\(tie_word_embeddings: true\\)`),
      )
    }
  })
})
