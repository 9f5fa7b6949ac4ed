// Learning-rate schedules as transformers' get_scheduler (a LambdaLR multiplier of the base rate),
// and the step arithmetic of its Trainer: batches per epoch, updates per epoch, total steps, warmup.
import type { TrainerSection } from '@lorapipe/core/pipeline/sections/index.ts'

export type ScheduleName = TrainerSection['scheduler']

/**
 * Multiplier of the base learning rate after `step` optimizer steps (the rate used by step
 * `step + 1`), as transformers' lambdas: warmup rises linearly from 0, then
 * linear: (total - step) / (total - warmup); cosine: 0.5 (1 + cos(pi * progress)) (num_cycles 0.5).
 */
export function lrMultiplier(name: ScheduleName, step: number, warmup: number, total: number): number {
  const warm = () => step / Math.max(1, warmup)
  switch (name) {
    case 'constant':
      return 1
    case 'constant_with_warmup':
      return step < warmup ? warm() : 1
    case 'linear':
      if (step < warmup) return warm()
      return Math.max(0, (total - step) / Math.max(1, total - warmup))
    case 'cosine': {
      if (step < warmup) return warm()
      const progress = (step - warmup) / Math.max(1, total - warmup)
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)))
    }
  }
}

export class LrSchedule {
  constructor(
    readonly name: ScheduleName,
    readonly baseLr: number,
    readonly warmupSteps: number,
    readonly totalSteps: number,
  ) {}

  /** Learning rate for optimizer step `step` (1-based): the multiplier after step - 1 steps. */
  lrForStep(step: number): number {
    return this.baseLr * lrMultiplier(this.name, step - 1, this.warmupSteps, this.totalSteps)
  }

  /** The rate after `step` steps, what transformers logs as `learning_rate` at that step. */
  lrAfter(step: number): number {
    return this.baseLr * lrMultiplier(this.name, step, this.warmupSteps, this.totalSteps)
  }
}

/** warmup_steps when set (> 0), else ceil(warmup_ratio * total), as TrainingArguments.get_warmup_steps. */
export function warmupSteps(totalSteps: number, warmupStepsSetting: number, warmupRatio: number): number {
  return warmupStepsSetting > 0 ? warmupStepsSetting : Math.ceil(warmupRatio * totalSteps)
}

export interface StepPlan {
  /** Micro-batches per epoch: ceil(examples / batch_size) (no drop_last). */
  readonly batchesPerEpoch: number
  /** Optimizer updates per epoch: ceil(batches / gradient_accumulation_steps); the last may accumulate fewer micro-batches. */
  readonly updatesPerEpoch: number
  readonly totalSteps: number
  /** Epochs the loop starts (the last may be partial). */
  readonly epochs: number
}

/**
 * Steps as transformers' Trainer: max_steps wins over epochs; otherwise ceil(epochs * updates per
 * epoch), so fractional epochs work. transformers counts floor(batches / accumulation) updates per
 * epoch and then still runs the leftover micro-batches; we count the leftover as one more (smaller)
 * update, so both agree whenever accumulation divides the batch count (always with accumulation 1).
 */
export function planSteps(examples: number, batchSize: number, accumulation: number, epochs: number, maxSteps?: number): StepPlan {
  const batchesPerEpoch = Math.ceil(examples / batchSize)
  const updatesPerEpoch = Math.max(1, Math.ceil(batchesPerEpoch / accumulation))
  const totalSteps = maxSteps !== undefined && maxSteps > 0 ? maxSteps : Math.max(1, Math.ceil(epochs * updatesPerEpoch))
  return { batchesPerEpoch, updatesPerEpoch, totalSteps, epochs: Math.ceil(totalSteps / updatesPerEpoch) }
}

/** The steps of a run on `examples` examples with these trainer settings (the manifest's and the loop's). */
export function trainingPlan(examples: number, t: TrainerSection): { readonly plan: StepPlan; readonly warmup: number } {
  const plan = planSteps(examples, t.batch_size, t.gradient_accumulation_steps, t.epochs, t.max_steps)
  return { plan, warmup: warmupSteps(plan.totalSteps, t.warmup_steps, t.warmup_ratio) }
}
