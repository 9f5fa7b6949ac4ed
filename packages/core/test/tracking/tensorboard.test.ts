// The TensorBoard tracker's parts: CRC-32C and its masked form, TFRecord framing read back, the
// projection of run events onto tags, and the tracker's handling of a folder it cannot write.
// (Decoding by an independent reader, against a real run, is tests/tensorboard.test.ts.)
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crc32c, maskedCrc32c } from '../../src/tracking/tensorboard/crc32c.ts'
import { frameRecord, scanRecords } from '../../src/tracking/tensorboard/records.ts'
import { projectEvent } from '../../src/tracking/tensorboard/projection.ts'
import { scalarsEvent, stepAndTags } from '../../src/tracking/tensorboard/messages.ts'
import { tensorboardTracker } from '../../src/tracking/tensorboard/tracker.ts'
import { trackers } from '../../src/tracking/registry.ts'
import { TRACKER_NAMES } from '../../src/tracking/names.ts'
import { trainerSchema } from '../../src/pipeline/sections/index.ts'
import { TrackerUnavailable } from '../../src/tracking/tracker.ts'
import type { RunEvent } from '../../src/events.ts'
import { trackedStages } from '../../src/tracking/open.ts'
import { loadOk, tempDir, writeFiles } from '../support.ts'

const ascii = (s: string) => new TextEncoder().encode(s)
const time = '2026-01-02T03:04:05.250Z'
const train = (step: number, stage = 'ft'): RunEvent => ({ _tag: 'TrainLog', step, epoch: step / 10, loss: 1 / step, learningRate: 1e-4, gradNorm: 0.5, samplesPerSecond: 100, time, stage })

describe('CRC-32C', () => {
  it('gives the check values of RFC 3720 (iSCSI) appendix B.4', () => {
    assert.equal(crc32c(ascii('123456789')), 0xe3069283)
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa)
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e)
  })

  it('is masked as TensorFlow masks it: rotated right by 15 bits plus 0xa282ead8, so unmasking gives it back', () => {
    for (const s of ['', 'a', '123456789', 'brain.Event:2']) {
      const m = maskedCrc32c(ascii(s))
      const rot = (m - 0xa282ead8) >>> 0
      assert.equal((((rot >>> 17) | (rot << 15)) >>> 0), crc32c(ascii(s)))
    }
  })
})

describe('TFRecord framing', () => {
  it('frames a record as length, masked CRC of the length, data, masked CRC of the data', () => {
    const r = frameRecord(ascii('hello'))
    assert.equal(r.length, 16 + 5)
    assert.equal(r.readBigUInt64LE(0), 5n)
    assert.equal(r.readUInt32LE(8), maskedCrc32c(r.subarray(0, 8)))
    assert.equal(r.subarray(12, 17).toString(), 'hello')
    assert.equal(r.readUInt32LE(17), maskedCrc32c(ascii('hello')))
  })

  it('reads records back, stops before a last record cut short, and reports a damaged one with its offset', () => {
    const two = Buffer.concat([frameRecord(ascii('one')), frameRecord(ascii('two'))])
    const ok = scanRecords(two)
    assert.ok(ok.ok)
    assert.deepEqual(ok.records.map((b) => Buffer.from(b).toString()), ['one', 'two'])
    const torn = scanRecords(two.subarray(0, two.length - 3))
    assert.ok(torn.ok)
    assert.equal(torn.records.length, 1)
    assert.equal(torn.end, 19)
    const bad = Buffer.from(two)
    bad[19 + 12]! ^= 1
    assert.deepEqual(scanRecords(bad), { ok: false, offset: 19, reason: 'a record fails its checksum' })
  })

  it('reads the step and tags back from an encoded Event', () => {
    assert.deepEqual(stepAndTags(scalarsEvent(1.5, 1234567, [['a', 1], ['b/c', 0]])), { step: 1234567, tags: ['a', 'b/c'] })
  })
})

describe('what TensorBoard shows of run events', () => {
  it('names training logs and evaluations as transformers does, at their step and time', () => {
    assert.deepEqual(projectEvent(train(10)), {
      kind: 'scalars',
      stage: 'ft',
      step: 10,
      wallTime: Date.parse(time) / 1000,
      values: [['train/loss', 0.1], ['train/learning_rate', 1e-4], ['train/grad_norm', 0.5], ['train/epoch', 1], ['train/samples_per_s', 100]],
    })
    const ev: RunEvent = { _tag: 'EvalMetrics', step: 20, epoch: 1, metrics: { eval_loss: 0.3, accuracy: 0.9 }, time, stage: 'ft' }
    const w = projectEvent(ev)
    assert.deepEqual(w?.kind === 'scalars' && w.values, [['eval/loss', 0.3], ['eval/accuracy', 0.9]])
  })

  it('ignores events of no stage and events that carry no scalars', () => {
    assert.equal(projectEvent({ _tag: 'RunStarted', time, pipeline: 'p', file: 'f', runDir: 'd', stages: [] }), undefined)
    assert.equal(projectEvent({ _tag: 'Log', level: 'info', message: 'x', time, stage: 'ft' }), undefined)
  })
})

describe('the TensorBoard tracker', () => {
  const stage = { id: 'ft', config: { trainer: { learning_rate: 1e-4 } }, hparams: { 'trainer.learning_rate': 1e-4 } }

  it('writes only the stages it follows, and gives a stage that reported no scalars no folder', () => {
    const runDir = tempDir()
    const s = tensorboardTracker.open({ runDir, stages: [stage, { ...stage, id: 'compare' }] })
    s.event(train(5))
    s.event(train(5, 'other'))
    s.event({ _tag: 'StageFinished', time, stage: 'compare', durationMs: 1, outputs: {} })
    assert.deepEqual(readdirSync(join(runDir, 'tb')), ['ft'])
    assert.deepEqual(s.problems(), [])
  })

  it('does not throw when a write fails during the run: it stops that stage and says why, naming the file', () => {
    const runDir = tempDir()
    const s = tensorboardTracker.open({ runDir, stages: [stage] })
    // Something takes the stage's folder's place after the run started.
    writeFileSync(join(runDir, 'tb', 'ft'), 'in the way')
    s.event(train(5))
    s.event(train(10))
    const [p, ...more] = s.problems()
    assert.equal(more.length, 0, 'said once')
    assert.match(p!, /^TensorBoard logs of stage `ft` stopped at step 0: cannot write .*\/tb\/ft \((EEXIST|ENOTDIR)\); the run's events\.jsonl has every value$/)
    assert.equal(readFileSync(join(runDir, 'tb', 'ft'), 'utf8'), 'in the way')
  })

  it('refuses a tb folder whose event file is not a TFRecord file, naming the file and the fix', () => {
    const runDir = tempDir()
    mkdirSync(join(runDir, 'tb', 'ft'), { recursive: true })
    writeFileSync(join(runDir, 'tb', 'ft', 'events.out.tfevents.1.host'), 'this is not an event file at all')
    assert.throws(
      () => tensorboardTracker.open({ runDir, stages: [stage] }),
      (e: unknown) =>
        e instanceof TrackerUnavailable &&
        /tb\/ft\/events\.out\.tfevents\.1\.host: the length of a record fails its checksum at byte 0/.test(e.message) &&
        /^move .* out of .*\/tb/.test(e.hint),
    )
    assert.ok(!existsSync(join(runDir, 'tb', 'ft', 'events.out.tfevents.1.host.1')), 'nothing written')
  })
})

describe('report_to names', () => {
  it('accepts exactly the names the registry has a tracker for', () => {
    assert.deepEqual(trainerSchema.properties.report_to.items.enum, TRACKER_NAMES)
    assert.deepEqual(Object.keys(trackers).sort(), [...TRACKER_NAMES].sort())
  })
})

describe('which stages a tracker follows', () => {
  it('a finetune stage follows its own trainer.report_to (the top level merged in), a custom stage the top-level one; settings become dotted hyperparameters, tokens cut', async () => {
    const dir = writeFiles({
      'p.yaml': `name: tracked
seed: 7
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin, v_lin], r: 4 }
dataset: { train: { path: t.tsv }, eval: { path: d.tsv } }
trainer: { report_to: [tensorboard] }
stages:
  a: { uses: finetune }
  b: { uses: finetune, with: { trainer: { report_to: [] } } }
  c: { uses: ./stage.ts, with: { rate: 0.5, note: 'token hf_abcdefghijklmnopqrstuvwxyz0123' } }
`,
      'stage.ts': `import { defineStage } from '@lorapipe/core'
import * as Effect from 'effect/Effect'
import * as Schema from 'effect/Schema'
export default defineStage({ name: 'c', params: Schema.Struct({ rate: Schema.Number, note: Schema.String }), outputs: {}, run: () => Effect.succeed({}) })
`,
    })
    const p = await loadOk(join(dir, 'p.yaml'))
    const stages = trackedStages(p).get('tensorboard')!
    assert.deepEqual(stages.map((s) => s.id), ['a', 'c'])
    const [a, c] = stages
    assert.equal(a!.hparams['lora.r'], 4)
    assert.equal(a!.hparams['lora.target_modules'], '["q_lin","v_lin"]')
    assert.equal(a!.hparams['trainer.report_to'], '["tensorboard"]')
    assert.equal(a!.hparams.seed, 7)
    assert.deepEqual(c!.hparams, { seed: 7, rate: 0.5, note: 'token [redacted]' }, 'a token is cut, as in every file lorapipe writes')
  })
})
