// The run view: one projection of the event stream for the terminal UI, the report and the
// sweep UI's trial panels, as a pure function of the events (a live reducer and a whole-file fold).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { RunEvent } from '../../src/events.ts'
import { foldRun, initialRunView, reduceRun, type RunView } from '../../src/views/run.ts'

const T0 = Date.parse('2025-01-01T00:00:00.000Z')
const at = (ms: number) => new Date(T0 + ms).toISOString()

const plan: RunEvent = {
  _tag: 'RunStarted',
  time: at(0),
  pipeline: 'demo',
  file: '/p/demo.yaml',
  runDir: '/r',
  stages: [
    { id: 'a', uses: 'finetune', needs: [], resource: 'compute' },
    { id: 'b', uses: 'compare', needs: ['a'] },
  ],
}
const startA: RunEvent = { _tag: 'StageStarted', time: at(0), stage: 'a', uses: 'finetune' }
const log = (step: number, loss = 1 / step): RunEvent => ({ _tag: 'TrainLog', time: at(step * 100), stage: 'a', step, epoch: step / 10, loss, learningRate: 0.01, samplesPerSecond: 8 })
const evalAt = (step: number, metrics: Record<string, number>, best?: boolean): RunEvent => ({ _tag: 'EvalMetrics', time: at(step * 100), stage: 'a', step, epoch: step / 10, metrics, ...(best === undefined ? {} : { best }) })

// A run interrupted during `a`, then resumed: `a` runs again and finishes, `b` after it.
const resumed: RunEvent[] = [
  plan,
  startA,
  log(5),
  { _tag: 'StageInterrupted', time: at(600), stage: 'a', durationMs: 600 },
  { _tag: 'RunFinished', time: at(600), status: 'interrupted', durationMs: 600, runDir: '/r' },
  { ...plan, time: at(10_000) } as RunEvent,
  { ...startA, time: at(10_000) } as RunEvent,
  { _tag: 'Progress', time: at(10_100), stage: 'a', step: 1, totalSteps: 30 },
  { _tag: 'Progress', time: at(12_100), stage: 'a', step: 21, totalSteps: 30, samplesPerSecond: 80 },
  log(10),
  evalAt(10, { eval_loss: 0.5, eval_accuracy: 0.8 }, true),
  log(20),
  evalAt(20, { eval_loss: 0.6, eval_accuracy: 0.85 }, false),
  { _tag: 'StageFinished', time: at(13_000), stage: 'a', durationMs: 3000, outputs: { metrics: '/r/a/metrics.json' } },
  { _tag: 'StageStarted', time: at(13_000), stage: 'b', uses: 'compare' },
  { _tag: 'Log', time: at(13_100), stage: 'b', level: 'warn', message: 'only one run to compare' },
  { _tag: 'StageFailed', time: at(13_200), stage: 'b', durationMs: 200, error: 'nothing to compare' },
  { _tag: 'RunFinished', time: at(13_200), status: 'failed', durationMs: 3200, runDir: '/r' },
]

const stage = (v: RunView, id: string) => v.stages.find((s) => s.id === id)!

describe('run view', () => {
  test('stages in plan order with their needs and resource; each ends as its last attempt did', () => {
    const v = foldRun(resumed)
    assert.deepEqual(
      v.stages.map((s) => [s.id, s.uses, s.needs, s.resource, s.status, s.durationMs, s.detail]),
      [
        ['a', 'finetune', [], 'compute', 'done', 3000, undefined],
        ['b', 'compare', ['a'], undefined, 'failed', 200, 'nothing to compare'],
      ],
    )
    assert.deepEqual([v.pipeline, v.file, v.runDir, v.finished], ['demo', '/p/demo.yaml', '/r', { status: 'failed', durationMs: 3200 }])
  })

  test("a fresh attempt forgets the earlier one's progress, logs and evaluations", () => {
    const a = stage(foldRun(resumed), 'a')
    assert.deepEqual(a.train.map((p) => p.step), [10, 20])
    assert.deepEqual(a.evals.map((r) => [r.step, r.metrics.eval_loss, r.best]), [[10, 0.5, true], [20, 0.6, false]])
    assert.equal(a.startedAt, T0 + 10_000)
    // 20 steps in 2 s since this attempt's first report.
    assert.deepEqual([a.progress?.step, a.progress?.stepsPerSecond, a.progress?.samplesPerSecond, a.progress?.at], [21, 10, 80, T0 + 12_100])
  })

  test('a resumed run that reuses a finished stage (reported done in 0 ms) keeps the time it took', () => {
    const v = foldRun([
      ...resumed,
      { ...plan, time: at(20_000) } as RunEvent,
      { _tag: 'StageFinished', time: at(20_000), stage: 'a', durationMs: 0, outputs: { metrics: '/r/a/metrics.json' } },
    ])
    assert.deepEqual([stage(v, 'a').status, stage(v, 'a').durationMs], ['done', 3000])
    // The new run has not ended: the earlier end is not its.
    assert.equal(v.finished, undefined)
    assert.equal(stage(v, 'b').status, 'failed')
  })

  test('a stage started again keeps the time and outputs of its earlier attempt until it ends again', () => {
    const a = stage(foldRun([...resumed, { ...plan, time: at(20_000) } as RunEvent, { ...startA, time: at(20_000) } as RunEvent]), 'a')
    assert.deepEqual([a.status, a.durationMs, a.outputs, a.evals.length], ['running', 3000, { metrics: '/r/a/metrics.json' }, 0])
  })

  test('stages still running when the run ends were cut short', () => {
    const v = foldRun([plan, startA, { _tag: 'RunFinished', time: at(50), status: 'interrupted', durationMs: 50, runDir: '/r' }])
    assert.deepEqual(v.stages.map((s) => s.status), ['interrupted', 'waiting'])
  })

  test('every training point by default; the latest ones only when the view keeps a bounded history', () => {
    const logs = Array.from({ length: 50 }, (_, i) => log(i + 1))
    assert.equal(stage(foldRun([plan, startA, ...logs]), 'a').train.length, 50)
    const bounded = stage(foldRun([plan, startA, ...logs], initialRunView({ trainHistory: 8 })), 'a').train
    assert.deepEqual(bounded.map((p) => p.step), [43, 44, 45, 46, 47, 48, 49, 50])
    const live = [plan, startA, ...logs].reduce(reduceRun, initialRunView({ trainHistory: 8 }))
    assert.deepEqual(stage(live, 'a').train, bounded)
  })

  test('the best evaluation: the one the stage flags, else the lowest loss, else the highest accuracy', () => {
    const best = (events: RunEvent[]) => stage(foldRun([plan, startA, ...events]), 'a').bestEval
    assert.equal(best([evalAt(1, { loss: 0.6 }, true), evalAt(2, { loss: 0.5 }, true), evalAt(3, { loss: 0.4 }, false)]), 1)
    assert.equal(best([evalAt(1, { eval_loss: 0.6 }), evalAt(2, { eval_loss: 0.4 }), evalAt(3, { eval_loss: 0.4 })]), 1)
    assert.equal(best([evalAt(1, { accuracy: 0.6 }), evalAt(2, { accuracy: 0.7 })]), 1)
  })

  test('downloads are tracked per file; a report without a stage belongs to none; an unannounced stage is shown', () => {
    const d = (bytes: number, file = 'model.safetensors', done?: boolean): RunEvent => ({ _tag: 'Download', time: at(bytes), repo: 'org/m', file, bytes, total: 1000, ...(done ? { done } : {}) })
    const v = foldRun([plan, d(100), d(500), d(10, 'config.json'), d(1000, 'model.safetensors', true), { ...log(1), stage: undefined } as RunEvent, { ...log(2), stage: 'late' } as RunEvent])
    assert.deepEqual(v.downloads.map((x) => [x.file, x.bytes, x.done]), [['model.safetensors', 1000, true], ['config.json', 10, false]])
    assert.deepEqual(v.stages.map((s) => [s.id, s.uses, s.train.length]), [['a', 'finetune', 0], ['b', 'compare', 0], ['late', '?', 1]])
  })

  test('the reducer leaves the view it is given as it was, and agrees with the fold', () => {
    let v = initialRunView()
    for (const e of resumed) {
      const before = JSON.stringify(v)
      const next = reduceRun(v, e)
      assert.equal(JSON.stringify(v), before, e._tag)
      v = next
    }
    assert.deepEqual(v, foldRun(resumed))
  })
})
