// The trainer on a causal LM: with gradient accumulation, every micro-batch's summed token loss is
// divided by the labelled tokens of all micro-batches of the step (transformers >= 4.46), so one
// step over examples of unequal label counts gives the same update whether they come as one batch
// or as micro-batches; the step's loss is the mean over all those tokens.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { selectBackend } from '../../src/backend/select.ts'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomCausalLm } from '../../src/models/load.ts'
import { injectLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import { causalLmLossSums } from '../../src/models/causal-lm-loss.ts'
import { collateCausalLm } from '../../src/data/sft/collate.ts'
import type { SftSequence } from '../../src/data/sft/packing.ts'
import { causalLmTask } from '../../src/trainer/causal-lm-task.ts'
import { train } from '../../src/trainer/loop.ts'
import { trainerSchema } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'

before(async () => {
  await selectBackend({ backend: 'wasm', threads: 2, env: {} })
})

const config = () => parseModelConfig({ model_type: 'llama', vocab_size: 40, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, initializer_range: 0.3 })

/** Two examples: 2 labelled tokens and 9 labelled tokens (a mean of the two means would weigh them equally). */
const data: SftSequence[] = [
  { inputIds: Int32Array.from([3, 7, 9, 11, 5]), labels: Int32Array.from([-100, -100, -100, 11, 5]) },
  { inputIds: Int32Array.from([4, 8, 12, 16, 20, 24, 28, 32, 36, 2]), labels: Int32Array.from([4, 8, 12, 16, 20, 24, 28, 32, 36, 2]) },
]

async function oneStep(batchSize: number, accumulation: number) {
  const model = createRandomCausalLm(config(), { seed: 3 })
  const lora = injectLora(model, loraSettings({ target_modules: ['q_proj', 'v_proj', 'down_proj'], r: 2, alpha: 4, task_type: 'CAUSAL_LM' }), { seed: 9 })
  // B starts at zero: give it values so that A gets a gradient too.
  for (const p of model.trainableParameters()) if (p.name.includes('lora_B')) p.assign(p.read().map((_, i) => 0.05 * Math.sin(i + 1)))
  const before = new Map(model.trainableParameters().map((p) => [p.name, p.read()]))
  // With a large epsilon AdamW's first step is about lr * g / epsilon: the update follows the gradient's size, not only its sign.
  const trainer = withDefaults(trainerSchema, { max_steps: 1, batch_size: batchSize, gradient_accumulation_steps: accumulation, learning_rate: 1, adam_epsilon: 10, max_grad_norm: 0 })
  const result = await train({ task: causalLmTask(model, data, undefined, 0), trainer, seed: 1, shuffle: false })
  const after = new Map(model.trainableParameters().map((p) => [p.name, p.read()]))
  // The loss of the step, recomputed: the mean over all 11 labelled tokens at the starting weights.
  for (const p of model.trainableParameters()) p.assign(before.get(p.name)!)
  const sums = causalLmLossSums(model, collateCausalLm(data, 0))
  model.dispose()
  void lora
  return { result, after, mean: sums.lossSum / sums.tokens, tokens: sums.tokens }
}

describe('causal-LM training with gradient accumulation', () => {
  test('one batch of both examples and two accumulated micro-batches give the same update and the same loss: the mean over all labelled tokens of the step', async () => {
    const whole = await oneStep(2, 1)
    const micro = await oneStep(1, 2)
    assert.equal(whole.tokens, 11)
    assert.ok(Math.abs(whole.result.history.train[0]!.loss - whole.mean) < 1e-5, `${whole.result.history.train[0]!.loss} vs ${whole.mean}`)
    assert.ok(Math.abs(micro.result.history.train[0]!.loss - whole.mean) < 1e-5, `${micro.result.history.train[0]!.loss} vs ${whole.mean}`)
    let moved = 0
    for (const [name, w] of whole.after) {
      const m = micro.after.get(name)!
      for (let i = 0; i < w.length; i++) {
        assert.ok(Math.abs(w[i]! - m[i]!) < 1e-6, `${name}[${i}]: ${w[i]} vs ${m[i]}`)
      }
      moved++
    }
    assert.equal(moved, 12)
  })
})
