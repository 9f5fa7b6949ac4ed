// Reading a run folder back and rendering its report, on folders built here by hand.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunEvent, RunMetrics } from '@lorapipe/core'
import { renderReport } from '../../src/report/html.ts'
import { readRun, ReportError } from '../../src/report/run-data.ts'

const t = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString()

function runFolder(events: readonly RunEvent[], files: Record<string, unknown> = {}, tail = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-report-'))
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e) + '\n').join('') + tail)
  writeFileSync(join(dir, 'config.resolved.yaml'), 'name: demo\nvars: { note: "<script>alert(1)</script>" }\n')
  for (const [f, v] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true })
    writeFileSync(join(dir, f), JSON.stringify(v))
  }
  return dir
}

const plan: RunEvent = {
  _tag: 'RunStarted',
  time: t(0),
  pipeline: 'demo',
  file: '/p/demo.yaml',
  runDir: '/r',
  stages: [
    { id: 'a', uses: './a.ts', needs: [] },
    { id: 'b', uses: './b.ts', needs: ['a'] },
  ],
}
const ev = (step: number, loss: number, accuracy: number, best?: boolean): RunEvent => ({ _tag: 'EvalMetrics', time: t(step), stage: 'a', step, epoch: step / 10, metrics: { eval_loss: loss, eval_accuracy: accuracy, eval_f1: accuracy - 0.05 }, best })
const log = (step: number, loss: number): RunEvent => ({ _tag: 'TrainLog', time: t(step), stage: 'a', step, epoch: step / 10, loss, learningRate: step / 1000, samplesPerSecond: 50 })

describe('report: reading a run folder', () => {
  test('from events alone: stages, states, training logs and evaluations (eval_ names too), the flagged best', () => {
    const dir = runFolder([
      plan,
      { _tag: 'StageStarted', time: t(0), stage: 'a', uses: './a.ts' },
      log(5, 0.9),
      log(10, 0.7),
      ev(10, 0.65, 0.7, true),
      log(15, 0.6),
      ev(20, 0.66, 0.75, false),
      { _tag: 'Log', time: t(20), stage: 'a', level: 'warn', message: 'loss spiked' },
      { _tag: 'StageFailed', time: t(21), stage: 'a', durationMs: 21_000, error: 'disk full' },
      { _tag: 'StageSkipped', time: t(21), stage: 'b', reason: 'needs `a`, which failed' },
      { _tag: 'RunFinished', time: t(21), status: 'failed', durationMs: 21_000, runDir: '/r' },
    ])
    const r = readRun(dir)
    assert.equal(r.pipeline, 'demo')
    assert.equal(r.status, 'failed')
    assert.deepEqual(r.stages.map((s) => [s.id, s.status, s.error]), [['a', 'failed', 'disk full'], ['b', 'skipped', 'needs `a`, which failed']])
    const a = r.stages[0]!
    assert.deepEqual(a.train.map((x) => [x.step, x.loss, x.learning_rate]), [[5, 0.9, 0.005], [10, 0.7, 0.01], [15, 0.6, 0.015]])
    assert.deepEqual(a.eval.map((x) => [x.step, x.loss, x.accuracy]), [[10, 0.65, 0.7], [20, 0.66, 0.75]])
    assert.equal(a.bestStep, 10)
    assert.deepEqual(r.messages.map((m) => m.text), ['loss spiked', 'disk full'])
  })

  test('metrics.json wins over events for the history; a resumed run keeps the last attempt; a torn last line is counted, not fatal', () => {
    const metrics: RunMetrics = {
      method: 'lora',
      trainable_params: 10,
      total_params: 1000,
      train: { runtime_s: 12, samples_per_s: 40, steps: 30, epochs: 3, loss: 0.3 },
      eval: { step: 30, epoch: 3, loss: 0.4, accuracy: 0.9, f1: 0.88, runtime_s: 1, samples_per_s: 200 },
      best: { step: 30, metric: 'eval_loss', value: 0.4 },
      history: {
        train: [{ step: 10, epoch: 1, loss: 0.8, learning_rate: 1e-3 }, { step: 30, epoch: 3, loss: 0.3, learning_rate: 1e-4 }],
        eval: [{ step: 10, epoch: 1, loss: 0.5, accuracy: 0.8, f1: 0.79, runtime_s: 1, samples_per_s: 200 }, { step: 30, epoch: 3, loss: 0.4, accuracy: 0.9, f1: 0.88, runtime_s: 1, samples_per_s: 200 }],
      },
    }
    const dir = runFolder(
      [
        plan,
        { _tag: 'StageStarted', time: t(0), stage: 'a', uses: './a.ts' },
        log(5, 5),
        { _tag: 'StageInterrupted', time: t(6), stage: 'a', durationMs: 6000 },
        { _tag: 'RunFinished', time: t(6), status: 'interrupted', durationMs: 6000, runDir: '/r' },
        { ...plan, time: t(100) } as RunEvent,
        { _tag: 'StageStarted', time: t(100), stage: 'a', uses: './a.ts' },
        { _tag: 'StageFinished', time: t(130), stage: 'a', durationMs: 30_000, outputs: {} },
        { _tag: 'StageStarted', time: t(130), stage: 'b', uses: './b.ts' },
        { _tag: 'StageFinished', time: t(131), stage: 'b', durationMs: 1000, outputs: {} },
        { _tag: 'RunFinished', time: t(131), status: 'succeeded', durationMs: 31_000, runDir: '/r' },
      ],
      { 'a/metrics.json': metrics },
      '{"_tag":"Progress","ti',
    )
    const r = readRun(dir)
    assert.equal(r.status, 'succeeded')
    assert.equal(r.badLines, 1)
    assert.equal(r.startedAt, t(0))
    const a = r.stages[0]!
    assert.equal(a.status, 'done')
    assert.equal(a.durationMs, 30_000)
    assert.deepEqual(a.train.map((x) => x.step), [10, 30])
    assert.deepEqual(a.eval.map((x) => x.accuracy), [0.8, 0.9])
    assert.equal(a.bestStep, 30)
    assert.equal(a.metrics?.method, 'lora')
  })

  test('a folder that is not a run is a ReportError naming the folder', () => {
    const empty = mkdtempSync(join(tmpdir(), 'lorapipe-report-'))
    assert.throws(() => readRun(empty), (e: unknown) => e instanceof ReportError && e.message.includes(empty) && /not a lorapipe run folder/.test(e.message))
    assert.throws(() => readRun(join(empty, 'nope')), /no such folder/)
  })
})

describe('report: the HTML page', () => {
  const dir = runFolder([
    plan,
    { _tag: 'StageStarted', time: t(0), stage: 'a', uses: './a.ts' },
    log(5, 0.9),
    log(10, 0.7),
    ev(10, 0.65, 0.7),
    log(15, 0.6),
    ev(20, 0.6, 0.75),
    { _tag: 'StageFinished', time: t(21), stage: 'a', durationMs: 21_000, outputs: {} },
    { _tag: 'RunFinished', time: t(21), status: 'succeeded', durationMs: 21_000, runDir: '/r' },
  ])
  const html = renderReport(readRun(dir))

  test('has the stages, charts of loss, accuracy, learning rate and throughput, and the evaluation table with the best row', () => {
    assert.match(html, /^<!doctype html>/)
    assert.match(html, /<h1>demo <span class="badge succeeded">succeeded<\/span>/)
    for (const title of ['Loss', 'Evaluation accuracy and F1', 'Learning rate', 'Training throughput']) assert.ok(html.includes(`>${title}</text>`), title)
    assert.equal((html.match(/<svg /g) ?? []).length, 4)
    // No loss flagged as best by the stage: the lowest evaluation loss (step 20) is marked.
    assert.match(html, /<tr class="best"><td>★ 20<\/td><td>2\.00<\/td><td>0\.6000<\/td><td>0\.7500<\/td><td>0\.7000<\/td><\/tr>/)
    assert.match(html, /<tr><td>10<\/td>/)
  })

  test('is self-contained: no scripts, no external references, config text escaped', () => {
    assert.doesNotMatch(html, /https?:\/\//)
    assert.doesNotMatch(html, /<script|<link|@import|url\(/i)
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
  })
})
