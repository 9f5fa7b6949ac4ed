import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import type { StageEvent } from '@lorapipe/core'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomModel } from '../../src/models/load.ts'
import type { SequenceClassifier } from '../../src/models/classifier.ts'
import { injectLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import type { TextTokenizer } from '../../src/tokenizer/tokenizer.ts'
import { trainerSchema, type TrainerSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { train, TrainingError, TrainingInterrupted, type TrainResult } from '../../src/trainer/loop.ts'
import { listCheckpoints, readCheckpoint } from '../../src/trainer/checkpoint.ts'
import type { EncodedSplit } from '../../src/trainer/evaluate.ts'
import { TINY_CONFIG, tinyTask } from './support.ts'

let dir = ''
let tok: TextTokenizer
let trainSplit: EncodedSplit
let evalSplit: EncodedSplit
before(async () => {
  ;({ dir, tok, train: trainSplit, eval: evalSplit } = await tinyTask('trainer-', 96, 48))
})
after(() => rmSync(dir, { recursive: true, force: true }))

const NO_DROPOUT = { dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 }

function loraModel(seed = 3, overrides: Record<string, unknown> = {}, loraDropout = 0.1): SequenceClassifier {
  const model = createRandomModel(parseModelConfig({ ...TINY_CONFIG, ...overrides }), { seed: 1 })
  injectLora(model, loraSettings({ r: 4, alpha: 8, dropout: loraDropout, target_modules: ['q_lin', 'v_lin'], modules_to_save: ['pre_classifier'] }), { seed })
  return model
}

const BASE: Partial<TrainerSection> = { batch_size: 8, eval_batch_size: 16, learning_rate: 5e-3, epochs: 2, log_every: 4, eval_every: 12 }

async function run(model: SequenceClassifier, t: Partial<TrainerSection>, extra: Partial<Parameters<typeof train>[0]> = {}): Promise<TrainResult> {
  return train({ model, train: trainSplit, eval: evalSplit, collator: tok, trainer: withDefaults(trainerSchema, { ...BASE, ...t }), seed: 42, ...extra })
}

const weightsOf = (m: SequenceClassifier) => new Map(m.namedParameters().map((p) => [p.name, p.read()]))

describe('the training loop on a tiny model the test builds (no ../shared)', () => {
  test('LoRA training lowers the loss, evaluates, and changes only the LoRA and head weights', async () => {
    const model = loraModel()
    const before = weightsOf(model)
    const events: StageEvent[] = []
    const r = await run(model, { epochs: 4, learning_rate: 5e-2 }, { onEvent: (e) => events.push(e) })
    assert.equal(r.steps, 48)
    assert.equal(r.plan.totalSteps, 48)
    const losses = r.history.train.map((x) => x.loss)
    assert.equal(losses.length, 12)
    const first = (losses[0]! + losses[1]!) / 2
    const last = (losses.at(-1)! + losses.at(-2)!) / 2
    assert.ok(last < first * 0.8, `training loss should fall: ${losses.map((l) => l.toFixed(3)).join(' ')}`)
    assert.deepEqual(r.history.eval.map((e) => e.step), [12, 24, 36, 48])
    assert.ok(r.eval && r.eval.accuracy! > 0.7, `eval accuracy ${r.eval?.accuracy}`)
    assert.ok(r.history.train.every((x) => x.grad_norm! > 0 && Number.isFinite(x.learning_rate)))
    assert.equal(r.history.train.at(-1)!.learning_rate, 0, 'linear decay reaches 0 at the last step')
    // events: a Progress per step, a TrainLog per log_every, EvalMetrics per evaluation
    assert.equal(events.filter((e) => e._tag === 'Progress').length, 48)
    assert.equal(events.filter((e) => e._tag === 'TrainLog').length, 12)
    assert.equal(events.filter((e) => e._tag === 'EvalMetrics').length, 4)
    const after = weightsOf(model)
    const changed = [...after.keys()].filter((k) => after.get(k)!.some((v, i) => v !== before.get(k)![i]))
    for (const [k, v] of after) {
      const trainable = k.includes('.lora_') || k.startsWith('classifier.') || k.startsWith('pre_classifier.')
      if (!trainable) assert.ok(Buffer.from(v.buffer).equals(Buffer.from(before.get(k)!.buffer)), `frozen ${k} changed`)
    }
    assert.equal(changed.length, 8 + 4, `changed: ${changed.join(', ')}`)
    model.dispose()
  })

  test('is deterministic: the same seed gives the same losses, weights and metrics; another seed does not', async () => {
    const a = loraModel()
    const b = loraModel()
    const c = loraModel()
    const ra = await run(a, { max_steps: 10, log_every: 1 })
    const rb = await run(b, { max_steps: 10, log_every: 1 })
    const rc = await train({ model: c, train: trainSplit, eval: evalSplit, collator: tok, trainer: withDefaults(trainerSchema, { ...BASE, max_steps: 10, log_every: 1 }), seed: 7 })
    assert.deepEqual(rb.history.train, ra.history.train)
    assert.deepEqual(rb.eval && { ...rb.eval, runtime_s: 0, samples_per_s: 0 }, ra.eval && { ...ra.eval, runtime_s: 0, samples_per_s: 0 })
    assert.deepEqual(weightsOf(b), weightsOf(a))
    assert.notDeepEqual(rc.history.train.map((x) => x.loss), ra.history.train.map((x) => x.loss))
    for (const m of [a, b, c]) m.dispose()
  })

  test('gradient accumulation of 2 x 4 equals one batch of 8 (mean loss), with clipping reporting the norm', async () => {
    const a = loraModel(3, NO_DROPOUT, 0)
    const b = loraModel(3, NO_DROPOUT, 0)
    const common = { max_steps: 6, log_every: 1, weight_decay: 0.01, max_grad_norm: 0.05, eval_every: undefined }
    const ra = await run(a, { ...common, batch_size: 8 }, { shuffle: false })
    const rb = await run(b, { ...common, batch_size: 4, gradient_accumulation_steps: 2 }, { shuffle: false })
    assert.ok(ra.history.train.some((x) => x.grad_norm! > 0.05), 'clipping is exercised')
    ra.history.train.forEach((x, i) => {
      const y = rb.history.train[i]!
      assert.ok(Math.abs(x.loss - y.loss) < 1e-5 && Math.abs(x.grad_norm! - y.grad_norm!) < 1e-5, `step ${i + 1}: ${x.loss}/${y.loss}, ${x.grad_norm}/${y.grad_norm}`)
    })
    const wa = weightsOf(a)
    for (const [k, v] of weightsOf(b)) assert.ok(v.every((x, i) => Math.abs(x - wa.get(k)![i]!) < 1e-5), k)
    a.dispose()
    b.dispose()
  })

  test('does not leak tensors: the count is flat after every step, evaluations included', async () => {
    const model = loraModel()
    const counts: number[] = []
    await run(model, { max_steps: 8, eval_every: 3 }, { afterStep: () => counts.push(tf.memory().numTensors) })
    assert.equal(counts.length, 8)
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts per step: ${counts.join(' ')}`)
    const before = tf.memory().numTensors
    model.dispose()
    assert.ok(tf.memory().numTensors < before)
  })

  test('a NaN loss stops the run with an error naming the step and keeps the last good checkpoint', async () => {
    const out = join(dir, 'nan')
    const model = loraModel()
    await assert.rejects(
      run(model, { max_steps: 10, save_every: 2, eval_every: undefined }, {
        dir: out,
        afterStep: (s) => {
          if (s === 3) model.parameter('classifier.weight').assign(new Float32Array(model.parameter('classifier.weight').size).fill(Number.NaN))
        },
      }),
      (e: unknown) => {
        assert.ok(e instanceof TrainingError)
        assert.equal(e.step, 4)
        assert.match(e.message, /training stopped at step 4: the training loss is NaN .*the last good checkpoint is kept at .*step-2/)
        return true
      },
    )
    assert.deepEqual(listCheckpoints(join(out, 'checkpoints')).map((c) => c.step), [2])
    model.dispose()
  })

  test('early stopping ends the run after `patience` evaluations without improvement', async () => {
    const model = loraModel()
    const events: StageEvent[] = []
    const r = await run(model, { max_steps: 40, eval_every: 4, early_stopping: { patience: 2, threshold: 10 } }, { onEvent: (e) => events.push(e) })
    assert.ok(r.stoppedEarly)
    assert.equal(r.steps, 12, 'first evaluation sets the reference, two more without an improvement above 10 stop it')
    assert.ok(events.some((e) => e._tag === 'Log' && /early stopping at step 12/.test(e.message)))
    model.dispose()
  })
})

describe('checkpoints and resume (no ../shared)', () => {
  test('a run interrupted at step 7 and resumed ends with exactly the weights and metrics of an uninterrupted run', async () => {
    const t: Partial<TrainerSection> = { epochs: 2, save_every: 3, eval_every: 6, log_every: 2, group_by_length: true, save_total_limit: 2, metric_for_best_model: 'accuracy' }
    const full = loraModel()
    const ref = await run(full, t, { dir: join(dir, 'ref') })

    const out = join(dir, 'resumed')
    const first = loraModel()
    const controller = new AbortController()
    await assert.rejects(run(first, t, { dir: out, signal: controller.signal, afterStep: (s) => s === 7 && controller.abort() }), (e: unknown) => {
      assert.ok(e instanceof TrainingInterrupted)
      assert.equal(e.step, 7)
      assert.match(e.message, /resume continues from .*step-6/)
      return true
    })
    first.dispose()
    // a checkpoint write killed half-way leaves a temporary folder; resume ignores and removes it
    const ckRoot = join(out, 'checkpoints')
    const ck = readCheckpoint(join(ckRoot, 'step-6'))
    assert.equal(ck.state.step, 6)
    assert.equal(ck.optimizer.step, 6)
    assert.deepEqual([ck.state.epoch, ck.state.batch, ck.state.microStep], [0, 6, 6])
    mkdirSync(join(ckRoot, '.step-9.tmp-1-abcd1234'))
    writeFileSync(join(ckRoot, '.step-9.tmp-1-abcd1234', 'trainable.safetensors'), 'half')

    const second = loraModel(99) // other LoRA init: the checkpoint's weights must win
    const events: StageEvent[] = []
    const res = await run(second, t, { dir: out, onEvent: (e) => events.push(e) })
    assert.equal(res.resumedFrom, 6)
    assert.ok(events.some((e) => e._tag === 'Log' && /resuming from .*step-6/.test(e.message)))
    // The evaluation made before the checkpoint (step 6) is reported again, flagged, ahead of the new ones.
    const evals = events.flatMap((e) => (e._tag === 'EvalMetrics' ? [e] : []))
    assert.deepEqual(evals.map((e) => [e.step, e.replayed ?? false]), ref.history.eval.map((r) => [r.step, r.step <= 6]))
    assert.equal(evals[0]!.metrics.accuracy, ref.history.eval[0]!.accuracy)
    assert.deepEqual(weightsOf(second), weightsOf(full))
    const strip = (r: TrainResult) => r.history.eval.map((e) => ({ ...e, runtime_s: 0, samples_per_s: 0 }))
    assert.deepEqual(strip(res), strip(ref))
    assert.deepEqual(res.history.train, ref.history.train)
    assert.equal(res.trainLoss, ref.trainLoss)
    assert.deepEqual(res.best, ref.best)
    // save_total_limit 2 keeps the two newest and the best
    const kept = listCheckpoints(ckRoot).map((c) => c.step)
    assert.ok(kept.length <= 3 && kept.includes(24) && kept.includes(21) && kept.includes(res.best!.step), `kept ${kept}`)
    assert.ok(!readdirSync(ckRoot).some((n) => n.startsWith('.')), 'no temporary folders left')
    full.dispose()
    second.dispose()
  })

  test('load_best_model_at_end restores the best evaluation\'s weights and reports its metrics', async () => {
    const model = loraModel()
    const out = join(dir, 'best')
    const r = await run(model, { max_steps: 12, eval_every: 3, save_every: 100, load_best_model_at_end: true, metric_for_best_model: 'eval_loss', learning_rate: 0.2 }, { dir: out })
    const best = r.history.eval.reduce((a, b) => (b.loss < a.loss ? b : a))
    assert.equal(r.best!.step, best.step)
    assert.deepEqual(r.eval, best)
    assert.ok(existsSync(join(out, 'checkpoints', `step-${best.step}`)), 'the best evaluation was checkpointed')
    const ck = readCheckpoint(join(out, 'checkpoints', `step-${best.step}`))
    for (const [k, v] of ck.weights) assert.deepEqual(model.parameter(k).read(), v, k)
    model.dispose()
  })

  test('refuses to resume a checkpoint of a run with other settings', async () => {
    const out = join(dir, 'mismatch')
    const m = loraModel()
    await run(m, { max_steps: 3, save_every: 3, eval_every: undefined }, { dir: out })
    await assert.rejects(run(m, { max_steps: 5, save_every: 3, eval_every: undefined }, { dir: out }), /belongs to a run with other settings .*use a new output folder/)
    m.dispose()
  })
})
