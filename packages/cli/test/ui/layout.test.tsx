// Frames of the terminal UI at 80 and 120 columns: column headers keep a gap, a long one-line
// message (the backend and why) wraps instead of being cut, a stage row does not repeat its name,
// and the learning rate reads the same everywhere.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { render } from 'ink-testing-library'
import type { RunEvent } from '@lorapipe/core'
import { RunView } from '../../src/ui/app.tsx'
import { initialState, reduce } from '../../src/ui/state.ts'
import { plainSink } from '../../src/output/plain.ts'
import { learningRate } from '../../src/output/format.ts'
import { wrap } from '../../src/ui/text.ts'
import { at, T0 } from './events.ts'

const BACKEND =
  'backend: wasm (2 threads): the default here; @tensorflow/tfjs-node-gpu and @tensorflow/tfjs-node are not installed (npm install them to use them); matrix products: wasm (no BLAS library found)'

const metrics = (loss: number, accuracy: number) => ({ loss, accuracy, f1: accuracy - 0.01, runtime_s: 34.2, samples_per_s: 25.5 })

// The seed's single job, as `lorapipe run pipelines/sst2-lora.yaml` shows it.
const single: RunEvent[] = [
  { _tag: 'RunStarted', time: at(0), pipeline: 'sst2-lora', file: '/p/sst2-lora.yaml', runDir: '/runs/sst2-lora/1', stages: [{ id: 'finetune', uses: 'finetune', needs: [] }] },
  { _tag: 'StageStarted', time: at(0), stage: 'finetune', uses: 'finetune' },
  { _tag: 'Log', time: at(10), stage: 'finetune', level: 'info', message: BACKEND },
  { _tag: 'Progress', time: at(1000), stage: 'finetune', step: 100, totalSteps: 250, epoch: 0.8, totalEpochs: 2, samplesPerSecond: 18 },
  { _tag: 'TrainLog', time: at(1000), stage: 'finetune', step: 50, epoch: 0.4, loss: 0.69, learningRate: 1.6e-4, samplesPerSecond: 18 },
  { _tag: 'TrainLog', time: at(2000), stage: 'finetune', step: 100, epoch: 0.8, loss: 0.52, learningRate: 0, samplesPerSecond: 18 },
  { _tag: 'EvalMetrics', time: at(2000), stage: 'finetune', step: 50, epoch: 0.4, metrics: metrics(0.61, 0.71), best: true },
  { _tag: 'EvalMetrics', time: at(3000), stage: 'finetune', step: 100, epoch: 0.8, metrics: metrics(0.66, 0.69), best: false },
]
const done: RunEvent[] = [
  ...single,
  { _tag: 'StageFinished', time: at(4000), stage: 'finetune', durationMs: 4000, outputs: {} },
  { _tag: 'RunFinished', time: at(4000), status: 'succeeded', durationMs: 4000, runDir: '/runs/sst2-lora/1' },
]

function frame(events: readonly RunEvent[], width: number): string {
  const r = render(<RunView state={events.reduce(reduce, initialState())} now={T0 + 3500} width={width} color={false} />)
  const f = r.lastFrame() ?? ''
  r.unmount()
  return f
}

/** The header line of a table: the line that starts (after spaces) with `first`. */
const header = (f: string, first: string) => f.split('\n').find((l) => new RegExp(`^\\s*${first}\\s`).test(l))!

for (const width of [80, 120]) {
  describe(`at ${width} columns`, () => {
    test('every line fits, and the backend line wraps whole instead of being cut', () => {
      const f = frame(single, width)
      for (const l of f.split('\n')) assert.ok(l.length <= width, `longer than ${width}: ${l}`)
      const backend = f.split('\n').slice(0, f.split('\n').findIndex((l) => l.startsWith('lorapipe run')))
      assert.ok(backend.length >= 2, `the backend line wraps:\n${f}`)
      for (const l of backend) assert.doesNotMatch(l, /…/, 'nothing of the backend line is cut')
      const words = f.split('\n').join(' ').replace(/\s+/g, ' ')
      assert.ok(words.includes(BACKEND.replace(/\s+/g, ' ')), f)
    })

    test('the evaluation table and the summary keep a gap between every column header', () => {
      for (const [f, first] of [[frame(single, width), 'step'], [frame(done, width), 'stage']] as const) {
        const h = header(f, first)
        assert.ok(h, f)
        assert.doesNotMatch(h, /[a-z)](runtime|time|samples)/, h)
        const names = h.trim().split(/\s{2,}/)
        assert.ok(names.length >= 4, h)
        for (const n of names) assert.ok(!/_s[a-z]/.test(n), `run-together header "${n}" in: ${h}`)
      }
      if (width === 120) assert.match(header(frame(single, width), 'step'), /loss\s+accuracy\s+f1\s+time \(s\)\s+samples\/s/)
    })

    test('a single-job row names the stage once', () => {
      const f = frame(single, width)
      assert.match(f, /● finetune\s+\d+s\s+running/)
      assert.doesNotMatch(f, /finetune\s+finetune/)
    })

    test('the learning rate is in one form, zero included', () => {
      const f = frame(single, width)
      assert.match(f, /lr 0 {2}/)
      assert.doesNotMatch(f, /lr 0\.0000/)
    })
  })
}

describe('stages that take turns on the CPU', () => {
  test('a compute stage whose needs are met says which stage it waits for; a light one runs', () => {
    const events: RunEvent[] = [
      {
        _tag: 'RunStarted',
        time: at(0),
        pipeline: 'sst2-lora-vs-full',
        file: '/p/vs.yaml',
        runDir: '/runs/vs/1',
        stages: [
          { id: 'lora', uses: 'finetune', needs: [], resource: 'compute' },
          { id: 'full', uses: 'finetune', needs: [], resource: 'compute' },
          { id: 'compare', uses: 'compare', needs: ['lora', 'full'] },
        ],
      },
      { _tag: 'StageStarted', time: at(0), stage: 'lora', uses: 'finetune' },
    ]
    const f = frame(events, 100)
    assert.match(f, /● lora\s+finetune\s+\d+s\s+running/)
    assert.match(f, /○ full\s+finetune\s+waiting for lora \(one compute stage at a time\)/)
    assert.match(f, /○ compare\s+waiting for lora, full/)
  })
})

describe('one form for the learning rate', () => {
  test('the UI, the plain log and the formatter agree', () => {
    assert.equal(learningRate(1.6e-4), '1.60e-4')
    assert.equal(learningRate(2e-3), '2.00e-3')
    const lines: string[] = []
    const sink = plainSink({ out: (l) => lines.push(l) })
    for (const e of single) sink(e)
    const logged = lines.filter((l) => l.includes(' lr '))
    assert.deepEqual(logged.map((l) => /lr (\S+)/.exec(l)![1]), ['1.60e-4', '0'])
    assert.match(frame(single.slice(0, 5), 100), /lr 1\.60e-4 /)
  })

  test('wrap breaks at spaces and indents the continuation', () => {
    assert.deepEqual(wrap('aaaa bbbb cccc dddd', 12, '  '), ['aaaa bbbb', '  cccc dddd'])
    assert.deepEqual(wrap('x'.repeat(25), 12, '  '), ['x'.repeat(12), '  ' + 'x'.repeat(10), '  ' + 'xxx'])
  })
})
