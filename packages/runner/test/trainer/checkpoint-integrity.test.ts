// Damaged or tampered checkpoints: found by their checksums and by range checks of the trainer
// state against the run, set aside with a warning, and the run continues from the previous intact
// checkpoint with exactly the numbers of an uninterrupted run; with none intact, resume is refused.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { StageEvent } from '@lorapipe/core'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomModel } from '../../src/models/load.ts'
import type { SequenceClassifier } from '../../src/models/classifier.ts'
import { injectLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import type { TextTokenizer } from '../../src/tokenizer/tokenizer.ts'
import { trainerSchema, type TrainerSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { train, TrainingInterrupted, type TrainResult } from '../../src/trainer/loop.ts'
import { CheckpointError, listCheckpoints, OPTIMIZER_FILE, readCheckpoint, resumableCheckpoint, STATE_FILE, WEIGHTS_FILE } from '../../src/trainer/checkpoint.ts'
import { CHECKSUMS_FILE, checkTrainerState } from '../../src/trainer/checkpoint-integrity.ts'
import type { EncodedSplit } from '../../src/trainer/evaluate.ts'
import { TINY_CONFIG, tinyTask } from './support.ts'

let dir = ''
let tok: TextTokenizer
let trainSplit: EncodedSplit
let evalSplit: EncodedSplit
let reference: { result: TrainResult; weights: Map<string, Float32Array> }
/** A run interrupted after step 7, with checkpoints step-3 and step-6 (copied for each case). */
let interrupted = ''

// 96 examples in batches of 8 with accumulation 2: 12 batches, 6 steps per epoch; 9 steps in all;
// every checkpoint kept (save_total_limit null), so there is one to fall back to.
const T: Partial<TrainerSection> = { batch_size: 8, eval_batch_size: 16, learning_rate: 5e-3, epochs: 2, max_steps: 9, gradient_accumulation_steps: 2, save_every: 3, eval_every: 3, log_every: 1, save_total_limit: null }

function model(): SequenceClassifier {
  const m = createRandomModel(parseModelConfig(TINY_CONFIG), { seed: 1 })
  injectLora(m, loraSettings({ r: 4, alpha: 8, dropout: 0.1, target_modules: ['q_lin', 'v_lin'] }), { seed: 3 })
  return m
}

const RUN9 = { totalSteps: 9, batchesPerEpoch: 12, updatesPerEpoch: 6, accumulation: 2 }
const run = (m: SequenceClassifier, extra: Partial<Parameters<typeof train>[0]> = {}) =>
  train({ model: m, train: trainSplit, eval: evalSplit, collator: tok, trainer: withDefaults(trainerSchema, T), seed: 42, ...extra })
const weightsOf = (m: SequenceClassifier) => new Map(m.trainableParameters().map((p) => [p.name, p.read()]))
const strip = (r: TrainResult) => ({ train: r.history.train, eval: r.history.eval.map((e) => ({ ...e, runtime_s: 0, samples_per_s: 0 })) })

before(async () => {
  ;({ dir, tok, train: trainSplit, eval: evalSplit } = await tinyTask('checkpoint-integrity-', 96, 32))
  const whole = model()
  reference = { result: await run(whole), weights: weightsOf(whole) }
  whole.dispose()
  interrupted = join(dir, 'interrupted')
  const m = model()
  const controller = new AbortController()
  await assert.rejects(run(m, { dir: interrupted, signal: controller.signal, afterStep: (s) => s === 7 && controller.abort() }), TrainingInterrupted)
  m.dispose()
  assert.deepEqual(listCheckpoints(join(interrupted, 'checkpoints')).map((c) => c.step), [3, 6])
})
after(() => rmSync(dir, { recursive: true, force: true }))

let cases = 0
/** A copy of the interrupted run, damaged by `damage` (given the checkpoints folder). */
function damagedCopy(damage: (checkpoints: string) => void): string {
  const out = join(dir, `case-${++cases}`)
  cpSync(interrupted, out, { recursive: true })
  damage(join(out, 'checkpoints'))
  return out
}

function editState(file: string, edit: (s: Record<string, any>) => void, opts: { updateChecksums: boolean }): void {
  const s = JSON.parse(readFileSync(file, 'utf8'))
  edit(s)
  writeFileSync(file, JSON.stringify(s, null, 2) + '\n')
  if (opts.updateChecksums) rewriteChecksum(file)
}

/** A deliberate tamper that also rewrites SHA256SUMS: only the range checks can find it. */
function rewriteChecksum(file: string): void {
  const ckDir = join(file, '..')
  const sums = readFileSync(join(ckDir, CHECKSUMS_FILE), 'utf8').split('\n').filter(Boolean)
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex')
  writeFileSync(join(ckDir, CHECKSUMS_FILE), sums.map((l) => (l.endsWith(`  ${STATE_FILE}`) ? `${sha}  ${STATE_FILE}` : l)).join('\n') + '\n')
}

/** Resumes `out` and checks it fell back to step-3 with a warning matching `why`, ending exactly as the reference. */
async function resumesFromStep3(out: string, why: RegExp): Promise<void> {
  const m = model()
  const events: StageEvent[] = []
  const r = await run(m, { dir: out, onEvent: (e) => events.push(e) })
  assert.equal(r.resumedFrom, 3)
  const warnings = events.filter((e) => e._tag === 'Log' && e.level === 'warn').map((e) => (e as { message: string }).message)
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0]!, /checkpoint step-6 is not usable: /)
  assert.match(warnings[0]!, why)
  assert.match(warnings[0]!, /moved to .*damaged-step-6 and the run continues from step-3/)
  assert.ok(existsSync(join(out, 'checkpoints', 'damaged-step-6')), 'the damaged checkpoint is kept aside for inspection')
  assert.equal(r.steps, 9)
  assert.deepEqual(strip(r), strip(reference.result))
  assert.deepEqual(weightsOf(m), reference.weights)
  m.dispose()
}

describe('checkpoint integrity', () => {
  test('each checkpoint has a SHA256SUMS file that sha256sum -c accepts', () => {
    const ck = join(interrupted, 'checkpoints', 'step-6')
    const sums = readFileSync(join(ck, CHECKSUMS_FILE), 'utf8')
    assert.deepEqual(sums.trim().split('\n').map((l) => l.split('  ')[1]).sort(), [OPTIMIZER_FILE, WEIGHTS_FILE, STATE_FILE].sort())
    const check = spawnSync('sha256sum', ['-c', CHECKSUMS_FILE], { cwd: ck, encoding: 'utf8' })
    if (check.error) return // no coreutils: the format is still checked above
    assert.equal(check.status, 0, check.stdout + check.stderr)
  })

  test('trainer_state.json set to step 999 (checksums rewritten to match): resume falls back to step-3 and ends as an uninterrupted run', async () => {
    const out = damagedCopy((c) => editState(join(c, 'step-6', STATE_FILE), (s) => (s.step = 999), { updateChecksums: true }))
    await resumesFromStep3(out, /trainer_state\.json: step 999 is not within this run's steps 0\.\.9/)
  })

  test('a truncated weights file: the same, found by its checksum', async () => {
    const out = damagedCopy((c) => truncateSync(join(c, 'step-6', WEIGHTS_FILE), 100))
    await resumesFromStep3(out, /trainable\.safetensors does not match its checksum/)
  })

  test('every kind of damage to the newest checkpoint makes resume pick the one before, with a warning naming the file', () => {
    const kinds: [string, (c: string) => void, RegExp][] = [
      ['a flipped bit in the optimizer state', (c) => {
        const f = join(c, 'step-6', OPTIMIZER_FILE)
        const b = readFileSync(f)
        b[b.length - 7]! ^= 0x10
        writeFileSync(f, b)
      }, /step-6\/optimizer\.safetensors does not match its checksum/],
      ['step 999 without new checksums', (c) => editState(join(c, 'step-6', STATE_FILE), (s) => (s.step = 999), { updateChecksums: false }), /step-6\/trainer_state\.json does not match its checksum/],
      ['step -5', (c) => editState(join(c, 'step-6', STATE_FILE), (s) => (s.step = -5), { updateChecksums: true }), /trainer_state\.json: step -5 is not within this run's steps 0\.\.9/],
      ['an epoch that does not fit the step', (c) => editState(join(c, 'step-6', STATE_FILE), (s) => (s.epoch = 0), { updateChecksums: true }), /step 6 does not match the data position/],
      ['no SHA256SUMS', (c) => rmSync(join(c, 'step-6', CHECKSUMS_FILE)), /step-6\/SHA256SUMS is missing/],
      ['trainer_state.json that is not JSON (checksums rewritten)', (c) => {
        writeFileSync(join(c, 'step-6', STATE_FILE), '{"step": ')
        rewriteChecksum(join(c, 'step-6', STATE_FILE))
      }, /cannot read trainer_state\.json/],
    ]
    for (const [what, damage, expected] of kinds) {
      const root = join(damagedCopy(damage), 'checkpoints')
      const warnings: string[] = []
      const found = resumableCheckpoint(root, RUN9, () => true, (m) => warnings.push(m))
      assert.equal(found?.data.state.step, 3, what)
      assert.equal(warnings.length, 1, what)
      assert.match(warnings[0]!, expected, what)
      assert.deepEqual(listCheckpoints(root).map((c) => c.step), [3], what)
    }
  })

  test('with no intact checkpoint, resume is refused naming each damaged file, and nothing is moved', async () => {
    const out = damagedCopy((c) => {
      truncateSync(join(c, 'step-3', STATE_FILE), 10)
      editState(join(c, 'step-6', STATE_FILE), (s) => (s.step = 999), { updateChecksums: true })
    })
    const m = model()
    await assert.rejects(run(m, { dir: out }), (e: unknown) => {
      assert.ok(e instanceof CheckpointError)
      assert.match(e.message, /no intact checkpoint to resume from/)
      assert.match(e.message, /step-6\/trainer_state\.json: step 999 is not within/)
      assert.match(e.message, /step-3\/trainer_state\.json does not match its checksum/)
      return true
    })
    m.dispose()
    assert.deepEqual(listCheckpoints(join(out, 'checkpoints')).map((c) => c.step), [3, 6])
  })
})

describe('trainer state range checks', () => {
  const state = () => structuredClone(readCheckpoint(join(interrupted, 'checkpoints', 'step-6')).state)

  test('the state of a real checkpoint passes', () => {
    const s = state()
    assert.deepEqual([s.step, s.epoch, s.batch, s.microStep], [6, 1, 0, 12])
    assert.equal(checkTrainerState('f', 6, s, 6, RUN9), undefined)
  })

  test('each kind of inconsistency is named', () => {
    const cases: [(s: any) => void, number, RegExp][] = [
      [(s) => (s.step = 1.5), 6, /step 1\.5 is not within this run's steps 0\.\.9/],
      [(s) => (s.step = 10), 6, /step 10 is not within/],
      [() => {}, 3, /step 6 does not match the checkpoint's folder name step-3/],
      [(s) => (s.batch = 3), 6, /epoch 1, batch 3 is not one this run can reach/],
      [(s) => (s.batch = 12), 6, /batch 12 is not one this run can reach/],
      [(s) => (s.epoch = 0), 6, /step 6 does not match the data position \(epoch 0, batch 0 is step 0\)/],
      [(s) => (s.microStep = 11), 6, /microStep 11 does not match the data position/],
      [(s) => (s.total.steps = 5), 6, /5 steps counted, but the state is at step 6/],
      [(s) => (s.best = { step: 8, metric: 'eval_loss', value: 0 }), 6, /best step 8 is after step 6/],
      [(s) => s.history.train.push({ step: 7 }), 6, /history record at step 7 is after step 6/],
      [(s) => (s.early = { bad: -1 }), 6, /early stopping count -1/],
    ]
    for (const [edit, dirStep, expected] of cases) {
      const s = state()
      edit(s)
      assert.match(checkTrainerState('f', dirStep, s, s.step, RUN9) ?? 'passed', expected)
    }
    assert.match(checkTrainerState('f', 6, state(), 5, RUN9) ?? 'passed', /does not match the optimizer's step count 5/)
  })
})
