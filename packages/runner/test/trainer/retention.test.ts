// Checkpoints kept on disk: by default the latest and the best (as transformers' save_total_limit
// with load_best_model_at_end); `save_total_limit: N` keeps the newest N and the best; null keeps all.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomModel } from '../../src/models/load.ts'
import { injectLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import type { TextTokenizer } from '../../src/tokenizer/tokenizer.ts'
import { trainerSchema, type TrainerSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { train, type TrainResult } from '../../src/trainer/loop.ts'
import { listCheckpoints } from '../../src/trainer/checkpoint.ts'
import type { EncodedSplit } from '../../src/trainer/evaluate.ts'
import { TINY_CONFIG, tinyTask } from './support.ts'

let dir = ''
let tok: TextTokenizer
let trainSplit: EncodedSplit
let evalSplit: EncodedSplit
before(async () => {
  ;({ dir, tok, train: trainSplit, eval: evalSplit } = await tinyTask('retention-', 48, 16))
})
after(() => rmSync(dir, { recursive: true, force: true }))

/** 12 steps, evaluated (and so checkpointed) every 3; what exists after each step, and at the end. */
async function run(name: string, t: Partial<TrainerSection>): Promise<{ r: TrainResult; seen: Set<number>; kept: number[] }> {
  const model = createRandomModel(parseModelConfig(TINY_CONFIG), { seed: 1 })
  injectLora(model, loraSettings({ r: 4, alpha: 8, target_modules: ['q_lin', 'v_lin'] }), { seed: 3 })
  const out = join(dir, name)
  const seen = new Set<number>()
  const r = await train({
    model,
    train: trainSplit,
    eval: evalSplit,
    collator: tok,
    trainer: withDefaults(trainerSchema, { batch_size: 4, eval_batch_size: 16, learning_rate: 5e-2, max_steps: 12, eval_every: 3, log_every: 3, ...t }),
    seed: 42,
    dir: out,
    afterStep: () => listCheckpoints(join(out, 'checkpoints')).forEach((c) => seen.add(c.step)),
  })
  model.dispose()
  return { r, seen, kept: listCheckpoints(join(out, 'checkpoints')).map((c) => c.step) }
}

describe('checkpoint retention', () => {
  test('by default a checkpoint is written at every evaluation and only the latest and the best are kept', async () => {
    const { r, seen, kept } = await run('default', {})
    assert.deepEqual([...seen].sort((a, b) => a - b), [3, 6, 9, 12])
    assert.ok(r.best, 'an eval split gives a best checkpoint')
    assert.deepEqual(kept, [...new Set([r.best!.step, 12])].sort((a, b) => a - b))
  })

  test('save_total_limit: N keeps the newest N and the best besides', async () => {
    const { r, kept } = await run('two', { save_total_limit: 2 })
    assert.deepEqual(kept, [...new Set([r.best!.step, 9, 12])].sort((a, b) => a - b))
  })

  test('save_total_limit: null keeps every checkpoint', async () => {
    const { kept } = await run('all', { save_total_limit: null })
    assert.deepEqual(kept, [3, 6, 9, 12])
  })
})
