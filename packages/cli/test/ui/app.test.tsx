// The terminal UI's frames for known events (ink-testing-library renders to a string).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { render } from 'ink-testing-library'
import type { RunEvent } from '@lorapipe/core'
import { LiveApp, RunView } from '../../src/ui/app.tsx'
import { initialState, reduce } from '../../src/ui/state.ts'
import { createStore } from '../../src/ui/store.ts'
import { at, evalAt, progress, started, T0, trainLog } from './events.ts'

const fold = (events: readonly RunEvent[]) => events.reduce(reduce, initialState())

function frame(events: readonly RunEvent[], opts: { now?: number; width?: number; color?: boolean; reportPath?: string } = {}): string {
  const r = render(<RunView state={fold(events)} now={opts.now ?? T0 + 4000} width={opts.width ?? 100} color={opts.color ?? false} reportPath={opts.reportPath} />)
  const f = r.lastFrame() ?? ''
  r.unmount()
  return f
}

// Forty steps of a hundred, training logs every 10 steps, evaluations at 20 (best) and 40.
const midway: RunEvent[] = [
  ...started,
  progress(1),
  ...[10, 20, 30, 40].map((s) => trainLog(s, 1 / s + 0.2, 0.001 * (100 - s))),
  evalAt(20, 0.45, 0.81, 0.8, true),
  evalAt(40, 0.5, 0.79, 0.77, false),
  progress(40),
]

const finished: RunEvent[] = [
  ...midway,
  { _tag: 'StageFinished', time: at(10_000), stage: 'train', durationMs: 10_000, outputs: { metrics: '/runs/bow/train/metrics.json', dir: '/runs/bow/train' } },
  { _tag: 'StageStarted', time: at(10_000), stage: 'compare', uses: 'compare' },
  { _tag: 'StageFinished', time: at(10_500), stage: 'compare', durationMs: 500, outputs: { json: '/runs/bow/compare/comparison.json' } },
  { _tag: 'RunFinished', time: at(10_500), status: 'succeeded', durationMs: 10_500, runDir: '/runs/bow' },
]

describe('terminal UI frames', () => {
  test('the stage graph shows each stage with its state and duration', () => {
    const f = frame(midway)
    assert.match(f, /● train\s+bow-logreg\.ts\s+4s\s+running/)
    assert.match(f, /○ compare\s+\s+waiting for train/)
  })

  test('the running stage: a progress bar at 40% with rates, epoch, elapsed time and ETA', () => {
    const f = frame(midway)
    const m = /([█░]+)\s+40%\s+step 40\/100/.exec(f)
    assert.ok(m, f)
    const cells = m[1]!
    assert.equal([...cells].filter((c) => c === '█').length / cells.length, 0.4)
    // 39 steps in 3.9 s since the first report; 60 steps left; at t = 4 s.
    assert.match(f, /epoch 0\.80\/2 · 10\.0 steps\/s · 160 samples\/s · elapsed 4s · ETA 6s/)
  })

  test('learning rate, training loss with its sparkline, and the latest evaluation', () => {
    const f = frame(midway)
    // Losses fall: 0.3, 0.25, 0.2333, 0.225 -> the sparkline descends from its top to its bottom.
    assert.match(f, /loss 0\.2250 {2}lr 6\.00e-2 {2}█[▁▂▃▄▅▆▇]*▁/)
    assert.match(f, /eval @ step 40: loss 0\.5000 {2}accuracy 0\.7900 {2}f1 0\.7700/)
  })

  test('the evaluation table lists every evaluation with the best row marked', () => {
    const f = frame(midway)
    assert.match(f, /step\s+loss\s+accuracy\s+f1/)
    assert.match(f, /★\s+20\s+0\.4500\s+0\.8100\s+0\.8000\s+best/)
    const row40 = f.split('\n').find((l) => /^\s+40\s+0\.5000/.test(l))
    assert.ok(row40 && !row40.includes('★') && !row40.includes('best'), f)
  })

  test('warnings and errors are printed above the live area; downloads show bytes, speed and ETA', () => {
    const f = frame([
      ...midway,
      { _tag: 'Log', time: at(4000), stage: 'train', level: 'warn', message: 'learning rate is high' },
      { _tag: 'Download', time: at(4000), stage: 'train', repo: 'org/m', file: 'model.safetensors', bytes: 2_000_000, total: 10_000_000, bytesPerSecond: 1_000_000 },
    ])
    const lines = f.split('\n')
    assert.match(lines[0]!, /⚠ warning \[train\] learning rate is high/)
    assert.ok(lines.findIndex((l) => l.includes('⚠')) < lines.findIndex((l) => l.includes('● train')))
    assert.match(f, /↓ org\/m\/model\.safetensors {2}2\.0 MB \/ 10\.0 MB · 1\.0 MB\/s · ETA 8s/)
  })

  test('at the end: a summary with what ran, the final metrics and where the outputs are', () => {
    const f = frame(finished, { reportPath: '/runs/bow/report.html' })
    assert.match(f, /run bow succeeded in 10\.5s/)
    assert.match(f, /stage\s+status\s+time\s+loss\s+accuracy\s+f1/)
    assert.match(f, /train\s+done\s+10\.0s\s+0\.5000\s+0\.7900\s+0\.7700/)
    assert.match(f, /compare\s+done\s+0\.50s/)
    assert.match(f, /outputs: \/runs\/bow/)
    assert.match(f, /train\.metrics: train\/metrics\.json/)
    assert.match(f, /report: {2}\/runs\/bow\/report\.html/)
    // The live panel is gone once the run is over.
    assert.doesNotMatch(f, /ETA/)
  })

  test('at 60 columns every line fits and the essentials are still there', () => {
    for (const events of [midway, finished]) {
      const f = frame(events, { width: 60 })
      for (const l of f.split('\n')) assert.ok([...l].length <= 60, `${[...l].length} > 60: ${l}`)
    }
    const f = frame(midway, { width: 60 })
    assert.match(f, /40%/)
    assert.match(f, /★\s+20/)
  })

  test('colours when asked, and without colour (NO_COLOR) the frame has no escape codes', async (t) => {
    // Ink colours through chalk, which turns itself off when stdout is not a terminal; turn it on
    // so that the absence of escape codes is the UI's doing.
    const chalk = (await import('chalk')).default
    const level = chalk.level
    chalk.level = 1
    t.after(() => {
      chalk.level = level
    })
    assert.match(frame(finished, { color: true }), /\x1b\[/)
    assert.doesNotMatch(frame(finished, { color: false }), /\x1b\[/)
  })

  test('the live app redraws from the store as events arrive', async () => {
    const store = createStore()
    const r = render(<LiveApp store={store} color={false} width={80} now={() => T0 + 2000} />)
    for (const e of [...started, progress(1), progress(10)]) store.dispatch(e)
    await new Promise((res) => setTimeout(res, 30))
    const first = r.lastFrame() ?? ''
    assert.match(first, /10%\s+step 10\/100/)
    store.dispatch(progress(60))
    await new Promise((res) => setTimeout(res, 30))
    assert.match(r.lastFrame() ?? '', /60%\s+step 60\/100/)
    for (const e of finished.slice(-4)) store.dispatch(e)
    await new Promise((res) => setTimeout(res, 30))
    assert.match(r.lastFrame() ?? '', /run bow succeeded/)
    r.unmount()
  })
})
