// What TensorBoard shows of a run event: a pure function of the event (its time and step
// included, never the clock). Tags follow transformers' TensorBoardCallback: `train/loss`,
// `train/learning_rate`, `train/grad_norm`, `train/epoch`, `eval/<metric>` (an `eval_` prefix
// dropped), so runs of both read alike.
import type { RunEvent } from '../../events.ts'
import { STATUS } from './messages.ts'

export type TensorBoardWrite =
  | { readonly kind: 'scalars'; readonly stage: string; readonly step: number; readonly wallTime: number; readonly values: readonly (readonly [string, number])[] }
  | { readonly kind: 'end'; readonly stage: string; readonly wallTime: number; readonly status: number }

/** Seconds since the epoch, as event files keep time. */
export const wallTimeOf = (time: string): number => Date.parse(time) / 1000

export function projectEvent(e: RunEvent): TensorBoardWrite | undefined {
  if (!('stage' in e) || e.stage === undefined) return undefined
  const wallTime = wallTimeOf(e.time)
  switch (e._tag) {
    case 'TrainLog': {
      const values: [string, number][] = [['train/loss', e.loss], ['train/learning_rate', e.learningRate]]
      if (e.gradNorm !== undefined) values.push(['train/grad_norm', e.gradNorm])
      values.push(['train/epoch', e.epoch])
      if (e.samplesPerSecond !== undefined) values.push(['train/samples_per_s', e.samplesPerSecond])
      return { kind: 'scalars', stage: e.stage, step: e.step, wallTime, values }
    }
    case 'EvalMetrics': {
      const values = Object.entries(e.metrics)
        .filter((kv): kv is [string, number] => typeof kv[1] === 'number')
        .map(([k, v]) => [`eval/${k.replace(/^eval_/, '')}`, v] as const)
      return values.length > 0 ? { kind: 'scalars', stage: e.stage, step: e.step, wallTime, values } : undefined
    }
    case 'StageFinished':
      return { kind: 'end', stage: e.stage, wallTime, status: STATUS.success }
    case 'StageFailed':
      return { kind: 'end', stage: e.stage, wallTime, status: STATUS.failure }
    default:
      return undefined
  }
}
