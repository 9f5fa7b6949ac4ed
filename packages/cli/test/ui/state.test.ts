// The terminal UI's state as a pure function of the events.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { RunEvent } from '@lorapipe/core'
import { evalColumns, initialState, reduce, timing, TRAIN_HISTORY, type UiState } from '../../src/ui/state.ts'
import { at, evalAt, progress, started, T0, trainLog } from './events.ts'

const fold = (events: readonly RunEvent[], s: UiState = initialState()) => events.reduce(reduce, s)

describe('UI state reducer', () => {
  test('RunStarted lays out every stage as waiting, StageStarted marks one running', () => {
    const s = fold(started)
    assert.equal(s.pipeline, 'bow')
    assert.equal(s.runDir, '/runs/bow')
    assert.deepEqual(s.stages.map((v) => [v.id, v.status]), [['train', 'running'], ['compare', 'waiting']])
    assert.deepEqual(s.stages[1]!.needs, ['train'])
  })

  test('does not change the state it is given', () => {
    const s0 = fold(started)
    const copy = JSON.stringify(s0)
    reduce(s0, progress(10))
    reduce(s0, { _tag: 'StageFinished', time: at(1), stage: 'train', durationMs: 1, outputs: {} })
    assert.equal(JSON.stringify(s0), copy)
  })

  test('progress: rates from the first report, elapsed time and ETA from the event times', () => {
    const s = fold([...started, progress(1), progress(21)])
    const p = s.stages[0]!.progress!
    assert.equal(p.step, 21)
    // 20 steps in 2 s.
    assert.equal(p.stepsPerSecond, 10)
    assert.equal(p.samplesPerSecond, 160)
    assert.equal(p.epoch, 21 / 50)
    // At the time of the last report: 79 steps left at 10 steps/s; started at t = 0.
    const t = timing(s.stages[0]!, T0 + 2100)
    assert.equal(t.elapsedS, 2.1)
    assert.ok(Math.abs(t.etaS! - 7.9) < 1e-9)
    // Half a second later the estimate has counted down.
    assert.ok(Math.abs(timing(s.stages[0]!, T0 + 2600).etaS! - 7.4) < 1e-9)
  })

  test('training logs keep a bounded loss history for the sparkline', () => {
    const logs = Array.from({ length: TRAIN_HISTORY + 10 }, (_, i) => trainLog(i + 1, 1 / (i + 1)))
    const s = fold([...started, ...logs])
    const train = s.stages[0]!.train
    assert.equal(train.length, TRAIN_HISTORY)
    assert.equal(train.at(-1)!.step, TRAIN_HISTORY + 10)
    assert.equal(train[0]!.step, 11)
  })

  test('the best evaluation is the one the stage flags, else the lowest loss', () => {
    const flagged = fold([...started, evalAt(10, 0.6, 0.7, 0.7, true), evalAt(20, 0.5, 0.8, 0.8, true), evalAt(30, 0.55, 0.9, 0.9, false)])
    assert.equal(flagged.stages[0]!.bestEval, 1)
    const unflagged = fold([...started, evalAt(10, 0.6, 0.7, 0.7), evalAt(20, 0.4, 0.8, 0.8), evalAt(30, 0.5, 0.9, 0.9)])
    assert.equal(unflagged.stages[0]!.bestEval, 1)
    // Without a loss (a baseline that only measures accuracy), the highest accuracy wins.
    const acc = fold([...started, { ...evalAt(1, 0, 0.6, 0), metrics: { accuracy: 0.6 } } as RunEvent, { ...evalAt(2, 0, 0.7, 0), metrics: { accuracy: 0.7 } } as RunEvent])
    assert.equal(acc.stages[0]!.bestEval, 1)
  })

  test('evaluation columns: loss, accuracy, f1 first, eval_ prefixes dropped', () => {
    const s = fold([...started, { ...evalAt(10, 0, 0, 0), metrics: { eval_f1: 0.5, matthews: 0.1, eval_loss: 0.3, eval_accuracy: 0.9 } } as RunEvent])
    assert.deepEqual(evalColumns(s.stages[0]!.evals), ['loss', 'accuracy', 'f1', 'matthews'])
  })

  test('a restarted stage starts with fresh progress and history', () => {
    const s = fold([...started, progress(50), trainLog(50, 0.3), evalAt(50, 0.3, 0.9, 0.9), { _tag: 'StageStarted', time: at(9000), stage: 'train', uses: 'x' }])
    const v = s.stages[0]!
    assert.equal(v.progress, undefined)
    assert.deepEqual([v.train.length, v.evals.length, v.bestEval], [0, 0, undefined])
    assert.equal(v.startedAt, T0 + 9000)
  })

  test('stage endings: done, failed (also as an error message), skipped, and interrupted when the run ends under them', () => {
    const s = fold([
      ...started,
      { _tag: 'StageFailed', time: at(500), stage: 'train', durationMs: 500, error: 'out of memory' },
      { _tag: 'StageSkipped', time: at(500), stage: 'compare', reason: 'needs `train`, which failed' },
      { _tag: 'RunFinished', time: at(600), status: 'failed', durationMs: 600, runDir: '/runs/bow' },
    ])
    assert.deepEqual(s.stages.map((v) => [v.status, v.durationMs, v.detail]), [
      ['failed', 500, 'out of memory'],
      ['skipped', undefined, 'needs `train`, which failed'],
    ])
    assert.deepEqual(s.messages.map((m) => [m.level, m.stage, m.text]), [['error', 'train', 'failed: out of memory']])
    assert.deepEqual(s.finished, { status: 'failed', durationMs: 600 })
    const cut = fold([...started, { _tag: 'RunFinished', time: at(600), status: 'interrupted', durationMs: 600, runDir: '/runs/bow' }])
    assert.equal(cut.stages[0]!.status, 'interrupted')
    const done = fold([...started, { _tag: 'StageFinished', time: at(700), stage: 'train', durationMs: 700, outputs: { metrics: '/runs/bow/train/metrics.json' } }])
    assert.deepEqual([done.stages[0]!.status, done.stages[0]!.durationMs, done.stages[0]!.outputs], ['done', 700, { metrics: '/runs/bow/train/metrics.json' }])
  })

  test('downloads are tracked per file; debug logs only when verbose', () => {
    const d = (bytes: number, done?: boolean): RunEvent => ({ _tag: 'Download', time: at(bytes), stage: 'train', repo: 'org/m', file: 'model.safetensors', bytes, total: 1000, bytesPerSecond: 100, done })
    const s = fold([...started, d(100), d(500), { ...d(10), file: 'config.json' } as RunEvent, d(1000, true)])
    assert.deepEqual(s.downloads.map((x) => [x.file, x.bytes, x.done]), [['model.safetensors', 1000, true], ['config.json', 10, false]])
    const debug: RunEvent = { _tag: 'Log', time: at(1), level: 'debug', message: 'tensor count 12' }
    assert.equal(fold([debug]).messages.length, 0)
    assert.equal(fold([debug], initialState({ verbose: true })).messages.length, 1)
  })
})

describe('choosing the front end', async () => {
  const { wantsInk } = await import('../../src/ui/select.ts')
  test('the Ink UI on a terminal, plain lines in CI, pipes and dumb terminals; LORAPIPE_UI overrides', () => {
    const tty = { isTTY: true }
    assert.equal(wantsInk(tty, {}), true)
    assert.equal(wantsInk({ isTTY: false }, {}), false)
    assert.equal(wantsInk({}, {}), false)
    assert.equal(wantsInk(tty, { CI: 'true' }), false)
    assert.equal(wantsInk(tty, { CI: '1' }), false)
    assert.equal(wantsInk(tty, { CI: 'false' }), true)
    assert.equal(wantsInk(tty, { TERM: 'dumb' }), false)
    assert.equal(wantsInk(tty, { LORAPIPE_UI: 'plain' }), false)
    assert.equal(wantsInk({ isTTY: false }, { LORAPIPE_UI: 'ink', CI: 'true' }), true)
  })
})
