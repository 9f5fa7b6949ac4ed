// Hand-written event streams for the UI tests: a training stage seen at known times.
import type { RunEvent } from '@lorapipe/core'

export const T0 = Date.parse('2025-01-01T00:00:00.000Z')
export const at = (ms: number) => new Date(T0 + ms).toISOString()

export const started: RunEvent[] = [
  {
    _tag: 'RunStarted',
    time: at(0),
    pipeline: 'bow',
    file: '/p/bow.yaml',
    runDir: '/runs/bow',
    stages: [
      { id: 'train', uses: '../stages/bow-logreg.ts', needs: [] },
      { id: 'compare', uses: 'compare', needs: ['train'] },
    ],
  },
  { _tag: 'StageStarted', time: at(0), stage: 'train', uses: '../stages/bow-logreg.ts' },
]

/** Progress at 1 step per 100 ms, starting at step 1 at t = 100 ms. */
export const progress = (step: number, totalSteps = 100): RunEvent => ({
  _tag: 'Progress',
  time: at(step * 100),
  stage: 'train',
  step,
  totalSteps,
  epoch: step / 50,
  totalEpochs: totalSteps / 50,
  samplesPerSecond: 160,
})

export const trainLog = (step: number, loss: number, learningRate = 0.01): RunEvent => ({
  _tag: 'TrainLog',
  time: at(step * 100),
  stage: 'train',
  step,
  epoch: step / 50,
  loss,
  learningRate,
  samplesPerSecond: 160,
})

export const evalAt = (step: number, loss: number, accuracy: number, f1: number, best?: boolean): RunEvent => ({
  _tag: 'EvalMetrics',
  time: at(step * 100),
  stage: 'train',
  step,
  epoch: step / 50,
  metrics: { loss, accuracy, f1 },
  ...(best === undefined ? {} : { best }),
})
