// The sweep UI: its state as a pure function of sweep events, and its frames.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { render } from 'ink-testing-library'
import type { RunEvent, SweepEvent } from '@lorapipe/core'
import { SweepView, visibleTrials } from '../../src/ui/sweep-app.tsx'
import { paramTitles, paramValue as cell } from '../../src/output/parameters.ts'
import { counts } from '@lorapipe/core/views/sweep.ts'
import { initialSweepState, reduceSweep, sweepEta } from '../../src/ui/sweep-state.ts'
import { at, T0 } from './events.ts'

const started: SweepEvent = {
  _tag: 'SweepStarted',
  time: at(0),
  sweep: 'sst2-sweep',
  file: '/s/sst2-sweep.yaml',
  sweepDir: '/sweeps/sst2-sweep/1',
  method: 'tpe',
  metric: { name: 'eval_accuracy', goal: 'maximize' },
  parameters: ['lora.r', 'trainer.learning_rate', 'lora.target_modules'],
  totalTrials: 6,
  concurrency: 2,
  resumed: false,
}
const trialStarted = (trial: number, ms: number, r: number, lr: number, modules: unknown = ['q_lin', 'v_lin']): SweepEvent => ({
  _tag: 'TrialStarted',
  time: at(ms),
  trial,
  assignment: { 'lora.r': r, 'trainer.learning_rate': lr, 'lora.target_modules': modules },
  runDir: `/sweeps/sst2-sweep/1/trials/${String(trial).padStart(4, '0')}`,
  resumed: false,
})
const metrics = (trial: number, ms: number, evaluation: number, value: number): SweepEvent => ({
  _tag: 'TrialMetrics',
  time: at(ms),
  trial,
  evaluation,
  step: evaluation * 10,
  value,
  metrics: { eval_accuracy: value, eval_loss: 1 - value },
})
const finished = (trial: number, ms: number, state: 'completed' | 'pruned' | 'failed', value?: number, reason?: string): SweepEvent => ({
  _tag: 'TrialFinished',
  time: at(ms),
  trial,
  state,
  value,
  reason,
  durationMs: 10_000,
})
const runEvent = (trial: number, event: RunEvent): SweepEvent => ({ _tag: 'TrialEvent', time: event.time, trial, event })

const fold = (events: readonly SweepEvent[]) => events.reduce(reduceSweep, initialSweepState())

// Trial 0 completes at 0.80, trial 1 is pruned at 0.55, trial 2 fails, trial 3 runs (40/100 steps).
const midway: SweepEvent[] = [
  started,
  trialStarted(0, 0, 8, 2e-4),
  trialStarted(1, 0, 16, 1.0, 'all-linear'),
  metrics(0, 4000, 1, 0.7),
  metrics(1, 4000, 1, 0.55),
  finished(1, 5000, 'pruned', 0.55, 'below the top 1/3 at evaluation 1'),
  metrics(0, 8000, 2, 0.8),
  finished(0, 10_000, 'completed', 0.8),
  trialStarted(2, 10_000, 4, 3e-5),
  finished(2, 11_000, 'failed', undefined, 'Error: out of memory\n  at step 3'),
  trialStarted(3, 11_000, 8, 5e-4),
  runEvent(3, { _tag: 'RunStarted', time: at(11_000), pipeline: 'sst2-lora', file: '/p.yaml', runDir: '/t/3', stages: [{ id: 'finetune', uses: 'finetune', needs: [] }] }),
  runEvent(3, { _tag: 'StageStarted', time: at(11_000), stage: 'finetune', uses: 'finetune' }),
  runEvent(3, { _tag: 'Progress', time: at(11_100), stage: 'finetune', step: 1, totalSteps: 100 }),
  runEvent(3, { _tag: 'Progress', time: at(15_000), stage: 'finetune', step: 40, totalSteps: 100 }),
  runEvent(3, { _tag: 'TrainLog', time: at(15_000), stage: 'finetune', step: 40, epoch: 0.8, loss: 0.42, learningRate: 1.6e-4 }),
]

function frame(events: readonly SweepEvent[], opts: { now?: number; width?: number } = {}): string {
  const r = render(<SweepView state={fold(events)} now={opts.now ?? T0 + 16_000} width={opts.width ?? 120} color={false} />)
  const f = r.lastFrame() ?? ''
  r.unmount()
  return f
}

describe('sweep UI state', () => {
  test('counts trials by state and keeps the best finished trial for the goal', () => {
    const s = fold(midway)
    assert.deepEqual(counts(s), { running: 1, completed: 1, pruned: 1, failed: 1, finished: 3 })
    assert.equal(s.bestTrial, 0)
    assert.equal(s.trials.find((t) => t.number === 1)!.best, 0.55)
    assert.equal(s.trials.find((t) => t.number === 3)!.step, 40)
  })

  test('minimising: the lowest objective is the best', () => {
    const min = fold([{ ...started, metric: { name: 'eval_loss', goal: 'minimize' } }, trialStarted(0, 0, 8, 1e-4), trialStarted(1, 0, 16, 1e-4), finished(0, 10, 'completed', 0.3), finished(1, 20, 'completed', 0.2)])
    assert.equal(min.bestTrial, 1)
  })

  test('a failed trial leaves a warning with the first line of its error', () => {
    const s = fold(midway)
    assert.deepEqual(
      s.messages.map((m) => [m.level, m.text]),
      [['warn', 'trial 2 failed: Error: out of memory']],
    )
  })

  test('ETA from the mean finished trial time, the trials left and the concurrency', () => {
    // Three finished in 10 s each; trial 3 has run 5 s of its expected 10; 2 more to start; 2 at a time.
    assert.equal(sweepEta(fold(midway), T0 + 16_000), (5 + 2 * 10) / 2)
    assert.equal(sweepEta(fold([started]), T0), undefined)
  })

  test('values in cells: short numbers, lists and objects as flow text', () => {
    assert.equal(cell(2e-4), '2.00e-4')
    assert.equal(cell(0.05), '0.05')
    assert.equal(cell(16), '16')
    assert.equal(cell(['q_lin', 'v_lin']), '[q_lin,v_lin]')
    assert.equal(cell({ r: 8, alpha: 16 }), '{r:8,alpha:16}')
  })

  test('column titles: the last path segment unless two would clash', () => {
    assert.deepEqual(paramTitles(['lora.r', 'trainer.learning_rate']), ['r', 'learning_rate'])
    assert.deepEqual(paramTitles(['stages.a.with.lora.r', 'stages.b.with.lora.r']), ['lora.r', 'lora.r'])
  })

  test('long sweeps list the best, the running and the latest trials', () => {
    const many: SweepEvent[] = [started]
    for (let i = 0; i < 30; i++) many.push(trialStarted(i, i * 10, 8, 1e-4), finished(i, i * 10 + 5, 'completed', i === 4 ? 0.99 : 0.5))
    many.push(trialStarted(30, 400, 8, 1e-4))
    const rows = visibleTrials(fold(many), 6).map((t) => t.number)
    assert.deepEqual(rows, [4, 26, 27, 28, 29, 30])
  })
})

describe('sweep UI frames', () => {
  test('header, progress over the trials with counts and ETA', () => {
    const f = frame(midway)
    assert.match(f, /lorapipe sweep sst2-sweep · tpe · maximize eval_accuracy/)
    assert.match(f, /[█░]+ 3\/6 trials/)
    assert.match(f, /1 running · 1 completed · 1 pruned · 1 failed · elapsed 16s · ETA 13s/)
  })

  test('the trial table: parameters, status, step, latest and best; the best row starred', () => {
    const f = frame(midway)
    assert.match(f, /#\s+r\s+learning_rate\s+target_modules\s+status\s+step\s+latest\s+best/)
    assert.match(f, /★ {2}0 8\s+2\.00e-4\s+\[q_lin,v_lin\]\s+✔ completed\s+20\s+0\.8000\s+0\.8000/)
    assert.match(f, / {3}1 16\s+1\s+all-linear\s+✂ pruned\s+10\s+0\.5500\s+0\.5500/)
    assert.match(f, / {3}2 4\s+3\.00e-5\s+\[q_lin,v_lin\]\s+✖ failed/)
    assert.match(f, / {3}3 8\s+5\.00e-4\s+\[q_lin,v_lin\]\s+● running\s+40/)
  })

  test("a running trial's panel as for a single run: progress bar, rates, loss and learning rate", () => {
    const f = frame(midway)
    assert.match(f, /── trial 3 ─/)
    assert.match(f, /[█░]+\s+40%\s+step 40\/100/)
    assert.match(f, /loss 0\.4200/)
  })

  test('at 80 columns nothing runs past the width', () => {
    const f = frame(midway, { width: 80 })
    for (const line of f.split('\n')) assert.ok(line.length <= 80, `${line.length}: ${line}`)
    assert.match(f, /★ {2}0/)
  })

  test('the summary: status and reason, ranked trials, and how to run the winner', () => {
    const f = frame([
      ...midway,
      metrics(3, 20_000, 1, 0.85),
      finished(3, 21_000, 'completed', 0.85),
      { _tag: 'SweepFinished', time: at(21_000), status: 'finished', reason: 'run_cap of 4 trials reached', best: { trial: 3, value: 0.85, assignment: {} }, durationMs: 21_000, sweepDir: '/sweeps/sst2-sweep/1' },
    ])
    assert.match(f, /sweep sst2-sweep finished in 21\.0s: run_cap of 4 trials reached/)
    const rows = f.split('\n').filter((l) => /^[ ★]\s+\d /.test(l))
    assert.deepEqual(
      rows.map((l) => Number(/^[ ★]\s+(\d+)/.exec(l)![1])),
      [3, 0, 1, 2],
    )
    assert.match(f, /best: trial 3, eval_accuracy 0\.8500/)
    assert.match(f, /run the best: lorapipe run \/sweeps\/sst2-sweep\/1\/best\.yaml/)
  })
})
