// What crosses Redis, decoded strictly (shape.ts, job.ts, registry.ts): every event a real
// trial makes passes, as the worker sends it; anything else (wrong types, unknown keys or tags,
// numbers out of range, oversized text, registry entries that lie about their folder) is refused
// with the place and the reason.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { RunEvent } from '@lorapipe/core'
import { decodeTrialJob, decodeTrialOutcome, decodeTrialProgress, wireEvent } from '../src/job.ts'
import { decodeSweepEntry, decodeWorkerEntry, queueNameOf, sweepIdOf } from '../src/registry.ts'
import { decodeOrUndefined, ShapeInvalid } from '../src/shape.ts'

const time = '2026-01-02T03:04:05.678Z'
/** One event of each kind, as a real trial run makes them. */
const events: RunEvent[] = [
  { _tag: 'RunStarted', time, pipeline: 'bow', file: '/p/bow.yaml', runDir: '/s/trials/0000', stages: [{ id: 'train', uses: '../stages/bow.ts', needs: [] }, { id: 'lora', uses: 'finetune', needs: ['train'], resource: 'compute' }] },
  { _tag: 'StageStarted', time, stage: 'train', uses: '../stages/bow.ts' },
  { _tag: 'Progress', time, stage: 'train', step: 1, totalSteps: 40, epoch: 0.025, totalEpochs: 1, samplesPerSecond: 719.1 },
  { _tag: 'TrainLog', time, stage: 'train', step: 5, epoch: 0.1, loss: Number.NaN, learningRate: 0.05, gradNorm: 1.5 },
  { _tag: 'EvalMetrics', time, stage: 'train', step: 20, epoch: 0.5, metrics: { eval_accuracy: 0.8, eval_loss: Number.POSITIVE_INFINITY }, best: true },
  { _tag: 'Download', time, stage: 'lora', repo: 'org/model', file: 'model.safetensors', bytes: 100, total: 1000, bytesPerSecond: 50, done: false },
  { _tag: 'Log', time, stage: 'train', level: 'warn', message: 'two\nlines' },
  { _tag: 'StageFinished', time, stage: 'train', durationMs: 1200, outputs: { adapter: '/s/trials/0000/train/adapter', metrics: { acc: 0.8 } } },
  { _tag: 'StageFailed', time, stage: 'lora', durationMs: 10, error: 'out of memory' },
  { _tag: 'StageInterrupted', time, stage: 'lora', durationMs: 10 },
  { _tag: 'StageSkipped', time, stage: 'lora', reason: 'no data' },
  { _tag: 'RunFinished', time, status: 'succeeded', durationMs: 2000, runDir: '/s/trials/0000' },
]
/** Through JSON as through Redis: NaN and infinities become null. */
const overRedis = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown
const rejects = (f: () => unknown, words: RegExp) => assert.throws(f, (e: unknown) => e instanceof ShapeInvalid && words.test(e.message))

describe('run events as workers report them', () => {
  it('every kind of event a trial makes passes, a measure that is not a number arriving as null', () => {
    for (const e of events) assert.deepEqual(decodeTrialProgress(overRedis({ attempt: 2, event: wireEvent(e) }), ''), overRedis({ attempt: 2, event: e }), e._tag)
  })

  it('the worker sends only the keys a kind of event has (a custom stage may add its own)', () => {
    const extra = { ...events[4]!, note: 'a custom stage\'s own key' } as unknown as RunEvent
    assert.deepEqual(wireEvent(extra), events[4])
    assert.equal(wireEvent({ _tag: 'Mystery', time } as unknown as RunEvent), undefined)
  })

  it('refuses a report with a wrong type, an unknown tag or key, a number out of range, or oversized text', () => {
    const p = (event: unknown, attempt: unknown = 1) => () => decodeTrialProgress({ attempt, event }, '')
    rejects(p(events[2], '1'), /^`attempt`: expected a whole number from 1 to 1000000, got "1"$/)
    rejects(p(events[2], 0), /`attempt`: expected a whole number/)
    rejects(p({ ...events[2], step: 'x' }), /^`event\.step`: expected a whole number/)
    rejects(p({ ...events[2], step: 1.5 }), /`event\.step`: expected a whole number/)
    rejects(p({ ...events[4], metrics: { eval_accuracy: 'NaN' } }), /`event\.metrics\.eval_accuracy`: expected a finite number, got "NaN"/)
    rejects(p({ ...events[4], note: 1 }), /`event`: unknown key `note`/)
    rejects(p({ _tag: 'Mystery', time }), /`event\._tag`: expected "RunStarted" or/)
    rejects(p({ ...events[6], level: 'fatal' }), /`event\.level`: expected "debug" or "info" or "warn" or "error"/)
    rejects(p({ ...events[1], stage: 'a\u001b[2Jb' }), /`event\.stage`: holds control characters/)
    rejects(p({ ...events[6], message: 'x'.repeat(300_000) }), /the progress report is too large: \d+ bytes \(at most 262144\)/)
    rejects(p({ ...events[6], message: 'x'.repeat(70_000) }), /`event\.message`: too long: 70000 characters \(at most 65536\)/)
    rejects(p(null), /`event`: expected an object, got null/)
  })
})

describe('trial jobs and results', () => {
  const job = { v: 1, sweep: 'grid-0123456789', trial: 3, assignment: { lr: 0.01, targets: ['q', 'v'] }, sweepHash: 'a'.repeat(64), resume: true }
  it('a job is its six keys, each of its type', () => {
    assert.deepEqual(decodeTrialJob(job, ''), job)
    rejects(() => decodeTrialJob({ ...job, pipeline: 'name: x' }, ''), /^unknown key `pipeline` \(expected v, sweep, trial, assignment, sweepHash, resume\)$/)
    rejects(() => decodeTrialJob({ ...job, sweepHash: 'A'.repeat(64) }, ''), /`sweepHash`: expected a sha256 in hex/)
    rejects(() => decodeTrialJob({ ...job, trial: 2 ** 31 }, ''), /`trial`: expected a whole number from 0 to 2147483647/)
    rejects(() => decodeTrialJob({ ...job, assignment: { lr: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } } } }, ''), /`assignment\.lr\.a\.b\.c\.d\.e\.f\.g\.h`: nested deeper than 8 levels/)
    const { resume: _r, ...noResume } = job
    rejects(() => decodeTrialJob(noResume, ''), /missing `resume`/)
  })
  it('a result is succeeded, interrupted, or failed with its reason', () => {
    assert.deepEqual(decodeTrialOutcome({ status: 'failed', error: 'boom' }, ''), { status: 'failed', error: 'boom' })
    assert.deepEqual(decodeTrialOutcome({ status: 'succeeded' }, ''), { status: 'succeeded' })
    assert.equal(decodeOrUndefined({ status: 'succeeded', value: 0.99 }, decodeTrialOutcome), undefined)
    assert.equal(decodeOrUndefined({ status: 'failed' }, decodeTrialOutcome), undefined)
  })
})

describe('registry entries', () => {
  const dir = '/shared/sweeps/grid'
  const id = sweepIdOf('grid', dir)
  const entry = { id, queue: queueNameOf(id), name: 'grid', dir, status: 'running', startedAt: time, heartbeat: 1, sweepHash: 'b'.repeat(64) }
  it('a sweep entry must be that of its own name and folder, on its own queue', () => {
    assert.deepEqual(decodeSweepEntry(entry, ''), entry)
    rejects(() => decodeSweepEntry({ ...entry, dir: '/elsewhere' }, ''), /the id grid-[0-9a-f]{10} is not that of the sweep grid in \/elsewhere/)
    rejects(() => decodeSweepEntry({ ...entry, queue: 'lorapipe-sweep-other' }, ''), /the queue lorapipe-sweep-other is not that of the sweep/)
    rejects(() => decodeSweepEntry({ ...entry, status: 'paused' }, ''), /`status`: expected "running" or "done" or "stopped"/)
    rejects(() => decodeSweepEntry({ ...entry, heartbeat: -1 }, ''), /`heartbeat`: expected a finite number >= 0/)
    const { sweepHash: _h, ...old } = entry
    rejects(() => decodeSweepEntry(old, ''), /missing `sweepHash`/)
  })
  it('a worker entry has its counts in range and its names on one line', () => {
    const w = { id: 'h-1-abc', host: 'h', pid: 12, concurrency: 2, running: ['x-1'], heartbeat: 1, startedAt: time }
    assert.deepEqual(decodeWorkerEntry(w, ''), w)
    rejects(() => decodeWorkerEntry({ ...w, host: 'h\nfake line' }, ''), /`host`: holds control characters/)
    rejects(() => decodeWorkerEntry({ ...w, concurrency: 0 }, ''), /`concurrency`: expected a whole number from 1/)
  })
})
