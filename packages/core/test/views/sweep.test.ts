// The sweep view: one projection of a sweep's events for the sweep UI, the sweep report, the
// plain lines and the `uses: sweep` stage, as a pure function of the events.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { RunEvent } from '../../src/events.ts'
import type { SweepEvent } from '../../src/sweep/events.ts'
import { bestTrial, better, counts, foldSweep, initialSweepView, reduceSweep } from '../../src/views/sweep.ts'

const T0 = Date.parse('2025-01-01T00:00:00.000Z')
const at = (ms: number) => new Date(T0 + ms).toISOString()

const started = (ms: number, extra: Partial<Extract<SweepEvent, { _tag: 'SweepStarted' }>> = {}): SweepEvent => ({
  _tag: 'SweepStarted',
  time: at(ms),
  sweep: 's',
  file: '/s.yaml',
  sweepDir: '/sw',
  method: 'random',
  metric: { name: 'eval_accuracy', goal: 'maximize' },
  parameters: ['lora.r'],
  totalTrials: 4,
  concurrency: 2,
  resumed: false,
  ...extra,
})
const trialStarted = (trial: number, ms: number, r: number, resumed = false): SweepEvent => ({ _tag: 'TrialStarted', time: at(ms), trial, assignment: { 'lora.r': r }, runDir: `/sw/trials/${trial}`, resumed })
const metrics = (trial: number, ms: number, evaluation: number, value: number): SweepEvent => ({ _tag: 'TrialMetrics', time: at(ms), trial, evaluation, step: evaluation * 10, value, metrics: { eval_accuracy: value } })
const finished = (trial: number, ms: number, state: 'completed' | 'pruned' | 'failed', value?: number): SweepEvent => ({
  _tag: 'TrialFinished',
  time: at(ms),
  trial,
  state,
  ...(value === undefined ? {} : { value }),
  ...(state === 'failed' ? { reason: 'Error: out of memory' } : {}),
  durationMs: 1000,
})
const runEvent = (trial: number, event: RunEvent): SweepEvent => ({ _tag: 'TrialEvent', time: event.time, trial, event })

// Trial 1 starts first; trial 0 is pruned; trial 1 is killed after its first evaluation and
// resumed, reporting it again; trial 2 fails; trial 3 only appears through its evaluation.
const events: SweepEvent[] = [
  started(0),
  trialStarted(1, 0, 16),
  trialStarted(0, 10, 8),
  metrics(1, 100, 1, 0.7),
  metrics(0, 110, 1, 0.5),
  finished(0, 200, 'pruned', 0.5),
  trialStarted(1, 300, 16, true),
  metrics(1, 400, 1, 0.7),
  metrics(1, 500, 2, 0.9),
  metrics(1, 600, 3, 0.8),
  finished(1, 700, 'completed', 0.8),
  trialStarted(2, 700, 4),
  finished(2, 800, 'failed'),
  metrics(3, 900, 1, 0.6),
]

describe('sweep view', () => {
  test('trials by number, whatever order they start in; one first seen through its evaluation is shown running', () => {
    const v = foldSweep(events)
    assert.deepEqual(v.trials.map((t) => [t.number, t.state, t.assignment['lora.r']]), [[0, 'pruned', 8], [1, 'completed', 16], [2, 'failed', 4], [3, 'running', undefined]])
    assert.deepEqual(counts(v), { running: 1, completed: 1, pruned: 1, failed: 1, finished: 3 })
    assert.deepEqual([v.sweep, v.method, v.metric, v.totalTrials, v.concurrency, v.startedAt], ['s', 'random', { name: 'eval_accuracy', goal: 'maximize' }, 4, 2, T0])
  })

  test("a resumed trial's repeated evaluation counts once in its curve, which is in step order", () => {
    const t1 = foldSweep(events).trials[1]!
    assert.deepEqual(t1.curve, [[10, 0.7], [20, 0.9], [30, 0.8]])
    assert.deepEqual([t1.evaluations, t1.step, t1.latest, t1.resumed], [3, 30, 0.8, true])
  })

  test('objectives: the best so far while running, the final value once completed; the value the sweep gave at the end', () => {
    const v = foldSweep(events)
    assert.deepEqual(v.trials.map((t) => [t.best, t.value]), [[0.5, 0.5], [0.8, 0.8], [undefined, undefined], [0.6, undefined]])
    assert.equal(v.trials[2]!.reason, 'Error: out of memory')
  })

  test('the best trial: the best finished one for the goal (ties to the lower number), or the one the sweep names at its end', () => {
    assert.equal(bestTrial(foldSweep(events)), 1)
    const min = foldSweep([started(0, { metric: { name: 'eval_loss', goal: 'minimize' } }), trialStarted(0, 0, 8), trialStarted(1, 0, 8), trialStarted(2, 0, 8), finished(2, 5, 'completed', 0.2), finished(1, 10, 'completed', 0.2), finished(0, 20, 'completed', 0.3)])
    assert.equal(bestTrial(min), 1)
    const named = foldSweep([...events, { _tag: 'SweepFinished', time: at(1000), status: 'finished', reason: 'done', best: { trial: 0, value: 0.5, assignment: {} }, durationMs: 1000, sweepDir: '/sw' }])
    assert.deepEqual([bestTrial(named), named.finished], [0, { status: 'finished', reason: 'done', durationMs: 1000, bestTrial: 0 }])
    assert.equal(better(0.9, undefined, 'maximize'), true)
    assert.equal(better(Number.NaN, 0.1, 'maximize'), false)
  })

  test("a running trial keeps its own run's view only when asked, and only while it runs", () => {
    const run: SweepEvent[] = [
      trialStarted(5, 0, 8),
      runEvent(5, { _tag: 'RunStarted', time: at(0), pipeline: 'p', file: '/p.yaml', runDir: '/sw/trials/5', stages: [{ id: 'finetune', uses: 'finetune', needs: [] }] }),
      runEvent(5, { _tag: 'StageStarted', time: at(0), stage: 'finetune', uses: 'finetune' }),
      runEvent(5, { _tag: 'Progress', time: at(100), stage: 'finetune', step: 40, totalSteps: 100 }),
    ]
    const kept = foldSweep(run, initialSweepView({ trialRuns: { trainHistory: 4 } }))
    assert.deepEqual(kept.trials[0]!.run?.stages.map((s) => [s.id, s.status, s.progress?.step]), [['finetune', 'running', 40]])
    assert.equal(kept.trials[0]!.step, 40)
    assert.equal(foldSweep(run).trials[0]!.run, undefined)
    const done = foldSweep([...run, metrics(5, 200, 1, 0.7), finished(5, 300, 'completed', 0.7), runEvent(5, { _tag: 'Log', time: at(400), stage: 'finetune', level: 'info', message: 'late' })], initialSweepView({ trialRuns: {} }))
    assert.equal(done.trials[0]!.run, undefined)
    const stopped = foldSweep([...run, { _tag: 'SweepFinished', time: at(500), status: 'interrupted', reason: 'Ctrl-C', durationMs: 500, sweepDir: '/sw' }], initialSweepView({ trialRuns: {} }))
    assert.deepEqual([stopped.trials[0]!.state, stopped.trials[0]!.run], ['running', undefined])
  })

  test('changes of recipe: every start lists all so far, and the longest list is kept', () => {
    const change = { recipe: 2, time: at(50), files: [{ path: '/base.yaml', change: 'changed' as const }] }
    const v = foldSweep([started(0), started(100, { recipes: [change] }), started(200), { ...trialStarted(7, 300, 8), recipe: 2 } as SweepEvent])
    assert.deepEqual(v.recipes, [change])
    assert.equal(v.trials[0]!.recipe, 2)
  })

  test('the reducer leaves the view it is given as it was, and agrees with the fold', () => {
    let v = initialSweepView()
    for (const e of events) {
      const before = JSON.stringify(v)
      const next = reduceSweep(v, e)
      assert.equal(JSON.stringify(v), before, e._tag)
      v = next
    }
    assert.deepEqual(v, foldSweep(events))
  })
})
