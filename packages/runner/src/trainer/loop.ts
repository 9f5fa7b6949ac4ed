// The training loop: batches with dynamic padding (optionally grouped by length), gradient
// accumulation, clipping by global norm, AdamW with a warmup schedule, evaluation, logging, best
// model tracking, early stopping and checkpoints from which a killed run continues exactly.
//
// Determinism: the data order of epoch e comes from deriveSeed(seed, DATA_STREAM, e), the dropout
// masks of micro-batch k from deriveSeed(seed, DROPOUT_STREAM, k). Neither depends on anything
// before it, so a resumed run replays the same numbers as an uninterrupted one.
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import * as Data from 'effect/Data'
import type { EvalRecord, StageEvent, TrainRecord } from '@lorapipe/core'
import type { TrainerSection } from '@lorapipe/core/pipeline/sections/index.ts'
import type { SequenceClassifier } from '../models/classifier.ts'
import type { PretrainedModel } from '../models/model.ts'
import { Rng as DropoutRng } from '../nn/rng.ts'
import type { Param } from '../nn/params.ts'
import { AdamW, noDecayNames } from './adamw.ts'
import { epochBatches, dropoutSeed } from './batches.ts'
import {
  listCheckpoints,
  readCheckpoint,
  removeIncompleteCheckpoints,
  resumableCheckpoint,
  writeCheckpoint,
  type TrainerState,
} from './checkpoint.ts'
import type { Collator, EncodedSplit } from './evaluate.ts'
import { classifierTask, type TaskEval, type TrainTask } from './task.ts'
import { retainCheckpoints } from './retention.ts'
import { bestMetricName, isBetter, isImprovement } from './metrics.ts'
import { LrSchedule, trainingPlan, type StepPlan } from './schedule.ts'

export class TrainingError extends Data.TaggedError('TrainingError')<{
  readonly step: number
  readonly reason: string
  /** The last complete checkpoint, kept for inspection or a resume with other settings. */
  readonly checkpoint?: string | undefined
}> {
  override get message(): string {
    const kept = this.checkpoint ? `; the last good checkpoint is kept at ${this.checkpoint}` : '; no checkpoint had been written yet'
    return `training stopped at step ${this.step}: ${this.reason}${kept}`
  }
}

export class TrainingInterrupted extends Data.TaggedError('TrainingInterrupted')<{ readonly step: number; readonly checkpoint?: string | undefined }> {
  override get message(): string {
    return `training interrupted after step ${this.step}${this.checkpoint ? `; resume continues from ${this.checkpoint}` : ''}`
  }
}

/** What every training run is given besides its task. */
export interface TrainOptions {
  /** The `trainer` section, decoded (defaults filled in). */
  readonly trainer: TrainerSection
  readonly seed: number
  /** Run folder: checkpoints go to `<dir>/checkpoints`. Without it nothing is written. */
  readonly dir?: string | undefined
  /** Continue from the last complete checkpoint in `<dir>/checkpoints` (default true). */
  readonly resume?: boolean
  /** Reshuffle the training data every epoch (default true, as transformers' RandomSampler). */
  readonly shuffle?: boolean
  readonly signal?: AbortSignal | undefined
  readonly onEvent?: (e: StageEvent) => void
  /** Called after every optimizer step (tests use it to stop a run at a chosen step). */
  readonly afterStep?: (step: number) => void
}

/** A classifier's run: the model, its tokenized splits and the collator. */
export interface TrainSetup extends TrainOptions {
  readonly model: SequenceClassifier
  readonly train: EncodedSplit
  readonly eval?: EncodedSplit | undefined
  readonly collator: Collator
}

/** A run of any task (task.ts): a causal LM's, or a classifier's. */
export interface TaskTrainSetup extends TrainOptions {
  readonly task: TrainTask
}

export interface TrainResult {
  readonly plan: StepPlan
  readonly warmupSteps: number
  readonly steps: number
  /** Epochs completed, fractional (transformers' `epoch`). */
  readonly epoch: number
  readonly history: { readonly train: readonly TrainRecord[]; readonly eval: readonly EvalRecord[] }
  /** The final evaluation (the best one when load_best_model_at_end), or undefined without an eval split. */
  readonly eval?: EvalRecord | undefined
  readonly best?: { readonly step: number; readonly metric: string; readonly value: number } | undefined
  /** Mean training loss over the run, transformers' `train_loss`. */
  readonly trainLoss: number
  readonly trainRuntime: number
  readonly trainSamples: number
  /** Real tokens trained on (tasks that count them: causal LMs). */
  readonly trainTokens?: number | undefined
  readonly stoppedEarly: boolean
  /** Step of the checkpoint the run continued from, if any. */
  readonly resumedFrom?: number | undefined
}

/** Names of the LayerNorm weights of a model (initialised to ones in its spec): no weight decay. */
function layerNormWeights(model: PretrainedModel): Set<string> {
  return new Set(model.spec.params.filter((s) => s.init.kind === 'ones').map((s) => s.name))
}

const readWeights = (params: readonly Param[]) => new Map(params.map((p) => [p.name, p.read()]))

/** An evaluation's figures as events and metrics.json carry them: only those the task has. */
export function evalFigures(r: Omit<EvalRecord, 'step' | 'epoch'>): Record<string, number> {
  const out: Record<string, number> = { loss: r.loss }
  for (const k of ['accuracy', 'f1', 'perplexity'] as const) if (r[k] !== undefined) out[k] = r[k]
  out.runtime_s = r.runtime_s
  out.samples_per_s = r.samples_per_s
  if (r.tokens_per_s !== undefined) out.tokens_per_s = r.tokens_per_s
  return out
}

/** The event of an evaluation, as it was made or (resuming) as the history recorded it. */
function evalMetricsEvent(r: EvalRecord, best: boolean): StageEvent & { _tag: 'EvalMetrics' } {
  return { _tag: 'EvalMetrics', step: r.step, epoch: r.epoch, metrics: evalFigures(r), ...(best ? { best: true } : {}) }
}

/** An evaluation record from a task's figures (classifiers' fields in their old order). */
function evalRecord(step: number, epoch: number, r: TaskEval): EvalRecord {
  return { step, epoch, ...evalFigures(r) } as EvalRecord
}

export async function train(setup: TrainSetup | TaskTrainSetup): Promise<TrainResult> {
  const task = 'task' in setup ? setup.task : classifierTask(setup.model, setup.train, setup.eval, setup.collator)
  const { trainer: t, seed } = setup
  const model = task.model
  const nTrain = task.size
  if (nTrain === 0) throw new TrainingError({ step: 0, reason: 'the training split is empty' })
  const { plan, warmup } = trainingPlan(nTrain, t)
  const schedule = new LrSchedule(t.scheduler, t.learning_rate, warmup, plan.totalSteps)
  const params = model.trainableParameters()
  if (params.length === 0) throw new TrainingError({ step: 0, reason: 'the model has no trainable parameters' })
  const shapes = new Map(params.map((p) => [p.name, p.shape]))
  const optimizer = new AdamW(params, {
    beta1: t.adam_beta1,
    beta2: t.adam_beta2,
    eps: t.adam_epsilon,
    weightDecay: t.weight_decay,
    noDecay: noDecayNames(params, layerNormWeights(model)),
  })
  const metric = bestMetricName(t.metric_for_best_model)
  const emit = (e: StageEvent) => setup.onEvent?.(e)
  const ckRoot = setup.dir ? join(setup.dir, 'checkpoints') : undefined
  // Without save_every: a checkpoint at every evaluation, else once per epoch.
  const saveEvery = t.save_every ?? t.eval_every ?? plan.updatesPerEpoch
  const lengths = t.group_by_length ? task.lengths() : undefined
  const orderOf = (epoch: number) => epochBatches(nTrain, epoch, { batchSize: t.batch_size, seed, shuffle: setup.shuffle ?? true, ...(lengths ? { lengths } : {}) })

  let state: TrainerState = {
    format: 1,
    step: 0,
    epoch: 0,
    batch: 0,
    microStep: 0,
    scheduler: { name: t.scheduler, base_lr: t.learning_rate, warmup_steps: warmup, total_steps: plan.totalSteps },
    rng: { seed, data_order: 'permutation of epoch e: deriveSeed(seed, 0x0da7a, e)', dropout: 'micro-batch k: deriveSeed(seed, 0xd50, k)' },
    early: { bad: 0 },
    history: { train: [], eval: [] },
    log: { lossSum: 0, steps: 0, samples: 0, seconds: 0 },
    total: { lossSum: 0, steps: 0, samples: 0, seconds: 0 },
    stopped: false,
  }
  let lastCheckpoint: string | undefined
  let resumedFrom: number | undefined
  const checkpointDirs = new Map<number, string>()

  try {
    if (ckRoot && (setup.resume ?? true)) {
      removeIncompleteCheckpoints(ckRoot)
      // The newest intact checkpoint of this run (damaged ones are set aside with a warning).
      const last = resumableCheckpoint(
        ckRoot,
        { totalSteps: plan.totalSteps, batchesPerEpoch: plan.batchesPerEpoch, updatesPerEpoch: plan.updatesPerEpoch, accumulation: t.gradient_accumulation_steps },
        (s) => s.scheduler.total_steps === plan.totalSteps && s.rng.seed === seed,
        (message) => emit({ _tag: 'Log', level: 'warn', message }),
      )
      if (last) {
        const ck = last.data
        if (ck.state.scheduler.total_steps !== plan.totalSteps || ck.state.rng.seed !== seed) {
          throw new TrainingError({
            step: ck.state.step,
            reason: `the checkpoint ${last.dir} belongs to a run with other settings (total steps ${ck.state.scheduler.total_steps}, seed ${ck.state.rng.seed}; now ${plan.totalSteps}, ${seed}); use a new output folder`,
          })
        }
        for (const p of params) {
          const w = ck.weights.get(p.name)
          if (!w) throw new TrainingError({ step: ck.state.step, reason: `the checkpoint ${last.dir} has no weights for ${p.name}; it was made with another model or LoRA setup` })
          p.assign(w)
        }
        optimizer.load(ck.optimizer)
        state = ck.state
        lastCheckpoint = last.dir
        resumedFrom = state.step
        for (const c of listCheckpoints(ckRoot)) checkpointDirs.set(c.step, c.dir)
        emit({ _tag: 'Log', level: 'info', message: `resuming from ${last.dir} (step ${state.step} of ${plan.totalSteps})` })
        // The evaluations made before the checkpoint, again: whoever watches this run (the UI, a
        // sweep that was killed before it saw them) gets its whole history, not only what follows.
        for (const r of state.history.eval) emit({ ...evalMetricsEvent(r, state.best?.step === r.step), replayed: true })
      }
    }

    const saveCheckpoint = () => {
      if (!ckRoot) return
      lastCheckpoint = writeCheckpoint(ckRoot, { state, weights: readWeights(params), optimizer: optimizer.state() }, shapes)
      checkpointDirs.set(state.step, lastCheckpoint)
      retainCheckpoints(ckRoot, t.save_total_limit, state.best?.step)
    }

    const epochFloat = () => state.epoch + state.batch / plan.batchesPerEpoch
    const runEval = (): { record: EvalRecord; newBest: boolean } => {
      const record = evalRecord(state.step, epochFloat(), task.evaluate(t.eval_batch_size))
      state.history.eval.push(record)
      const value = record[metric] ?? Number.NaN
      const newBest = isBetter(metric, value, state.best?.value)
      if (newBest) state.best = { step: state.step, metric: `eval_${metric}`, value }
      if (t.early_stopping) {
        if (isImprovement(metric, value, state.early.best, t.early_stopping.threshold)) state.early = { best: value, bad: 0 }
        else state.early = { ...state.early, bad: state.early.bad + 1 }
        if (state.early.bad >= t.early_stopping.patience) {
          state.stopped = true
          emit({ _tag: 'Log', level: 'info', message: `early stopping at step ${state.step}: eval_${metric} has not improved by more than ${t.early_stopping.threshold} for ${state.early.bad} evaluations` })
        }
      }
      emit(evalMetricsEvent(record, newBest))
      return { record, newBest }
    }

    let batches = orderOf(state.epoch)
    let evaluatedAt = state.history.eval.at(-1)?.step ?? -1
    while (state.step < plan.totalSteps && !state.stopped) {
      if (setup.signal?.aborted) throw new TrainingInterrupted({ step: state.step, checkpoint: lastCheckpoint })
      const t0 = performance.now()
      const stepNo = state.step + 1
      // One optimizer update: up to `accumulation` micro-batches, never across an epoch boundary.
      let acc: Map<string, tf.Tensor> | null = null
      let micro = 0
      let lossSum = 0
      let samples = 0
      let tokens: number | undefined
      task.beginStep(batches.slice(state.batch, Math.min(batches.length, state.batch + t.gradient_accumulation_steps)))
      while (micro < t.gradient_accumulation_steps && state.batch < batches.length) {
        const idx = batches[state.batch]!
        const rng = new DropoutRng(dropoutSeed(seed, state.microStep))
        const { loss, grads, ...counts } = task.microBatch(idx, rng, params)
        if (!Number.isFinite(loss)) {
          tf.dispose([...grads.values(), ...(acc ? acc.values() : [])])
          throw new TrainingError({ step: stepNo, reason: `the training loss is ${loss} (epoch ${state.epoch}, batch ${state.batch}); lower the learning rate or check the data`, checkpoint: lastCheckpoint })
        }
        if (acc === null) acc = grads
        else {
          for (const [k, g] of grads) {
            const sum = tf.add(acc.get(k)!, g)
            tf.dispose([acc.get(k)!, g])
            acc.set(k, sum)
          }
        }
        lossSum += loss
        samples += counts.samples
        if (counts.tokens !== undefined) tokens = (tokens ?? 0) + counts.tokens
        micro++
        state.microStep++
        state.batch++
      }
      const grads = acc!
      const scale = task.gradScale(micro)
      // Global norm of the (averaged) gradient, as torch.nn.utils.clip_grad_norm_.
      const normT = tf.tidy(() => tf.mul(tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))), scale))
      const gradNorm = normT.dataSync()[0]!
      normT.dispose()
      if (!Number.isFinite(gradNorm)) {
        tf.dispose([...grads.values()])
        throw new TrainingError({ step: stepNo, reason: `the gradient norm is ${gradNorm}; lower the learning rate or check the data`, checkpoint: lastCheckpoint })
      }
      let factor = scale
      if (t.max_grad_norm > 0) {
        const coef = t.max_grad_norm / (gradNorm + 1e-6)
        if (coef < 1) factor *= coef
      }
      if (factor !== 1) {
        for (const [k, g] of grads) {
          grads.set(k, tf.mul(g, factor))
          g.dispose()
        }
      }
      optimizer.apply(grads, schedule.lrForStep(stepNo))
      tf.dispose([...grads.values()])
      state.step = stepNo
      if (state.batch >= batches.length) {
        state.epoch++
        state.batch = 0
        batches = orderOf(state.epoch)
      }
      const seconds = (performance.now() - t0) / 1000
      const meanLoss = task.stepLoss(lossSum, micro)
      for (const a of [state.log, state.total]) {
        a.lossSum += meanLoss
        a.steps += 1
        a.samples += samples
        if (tokens !== undefined) a.tokens = (a.tokens ?? 0) + tokens
        a.seconds += seconds
      }
      const perSecond = (a: { tokens?: number; seconds: number }) => (a.tokens !== undefined ? { tokensPerSecond: a.tokens / Math.max(a.seconds, 1e-9) } : {})
      emit({ _tag: 'Progress', step: state.step, totalSteps: plan.totalSteps, epoch: epochFloat(), totalEpochs: plan.totalSteps / plan.updatesPerEpoch, samplesPerSecond: state.total.samples / Math.max(state.total.seconds, 1e-9), ...perSecond(state.total) })
      if (state.step % t.log_every === 0 || state.step === plan.totalSteps) {
        const rec: TrainRecord = { step: state.step, epoch: epochFloat(), loss: state.log.lossSum / state.log.steps, learning_rate: schedule.lrAfter(state.step), grad_norm: gradNorm }
        state.history.train.push(rec)
        emit({ _tag: 'TrainLog', step: rec.step, epoch: rec.epoch, loss: rec.loss, learningRate: rec.learning_rate, gradNorm, samplesPerSecond: state.log.samples / Math.max(state.log.seconds, 1e-9), ...perSecond(state.log) })
        state.log = { lossSum: 0, steps: 0, samples: 0, seconds: 0, ...(tokens !== undefined ? { tokens: 0 } : {}) }
      }
      let newBest = false
      if (task.hasEval && t.eval_every && state.step % t.eval_every === 0) {
        newBest = runEval().newBest
        evaluatedAt = state.step
      }
      // A new best is always saved, so load_best_model_at_end can restore it.
      if (state.step % saveEvery === 0 || (newBest && t.load_best_model_at_end)) saveCheckpoint()
      setup.afterStep?.(state.step)
      // Let interruption (Ctrl-C, Effect interruption) in between steps.
      await new Promise((r) => setImmediate(r))
    }

    let finalEval: EvalRecord | undefined
    if (task.hasEval) {
      if (evaluatedAt !== state.step) runEval()
      finalEval = state.history.eval.at(-1)
      if (t.load_best_model_at_end && state.best && state.best.step !== state.step) {
        const dir = checkpointDirs.get(state.best.step)
        if (dir) {
          const ck = readCheckpoint(dir)
          for (const p of params) p.assign(ck.weights.get(p.name)!)
          emit({ _tag: 'Log', level: 'info', message: `loaded the best model (step ${state.best.step}, ${state.best.metric} ${state.best.value.toFixed(4)}) from ${dir}` })
        }
        finalEval = state.history.eval.find((e) => e.step === state.best!.step) ?? finalEval
      }
    }
    return {
      plan,
      warmupSteps: warmup,
      steps: state.step,
      epoch: epochFloat(),
      history: state.history,
      eval: finalEval,
      best: state.best,
      trainLoss: state.total.lossSum / Math.max(1, state.total.steps),
      trainRuntime: state.total.seconds,
      trainSamples: state.total.samples,
      trainTokens: state.total.tokens,
      stoppedEarly: state.stopped,
      resumedFrom,
    }
  } finally {
    optimizer.dispose()
  }
}
