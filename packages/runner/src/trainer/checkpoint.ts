// Checkpoints: `checkpoints/step-N/` holds everything needed to continue a run exactly: the
// trainable weights, the optimizer state (m, v, step count), the scheduler, the random streams
// and the data position, plus the trainer's bookkeeping (history, best, early stopping).
// A checkpoint is written into a hidden temporary folder that is renamed to `step-N` when complete,
// so a folder named step-N is always whole, whenever the process dies.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import * as Data from 'effect/Data'
import type { EvalRecord, TrainRecord } from '@lorapipe/core'
import { writeFileSynced } from '@lorapipe/core/fs/atomic.ts'
import { encodeSafetensors } from '../safetensors/write.ts'
import { readSafetensorsSync } from '../safetensors/read.ts'
import type { AdamWState } from './adamw.ts'
import { checkTrainerState, verifyChecksums, writeChecksums, type RunShape } from './checkpoint-integrity.ts'
import type { ScheduleName } from './schedule.ts'

export class CheckpointError extends Data.TaggedError('CheckpointError')<{ readonly dir: string; readonly reason: string }> {
  override get message(): string {
    return `checkpoint ${this.dir}: ${this.reason}`
  }
}

export const WEIGHTS_FILE = 'trainable.safetensors'
export const OPTIMIZER_FILE = 'optimizer.safetensors'
export const STATE_FILE = 'trainer_state.json'
const CHECKPOINT_FILES = [WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE]

/** Running sums the loss and throughput figures are computed from. */
export interface Accumulator {
  lossSum: number
  steps: number
  samples: number
  /** Real tokens (causal LMs only: tasks that count them). */
  tokens?: number
  seconds: number
}

/** The trainer's position and bookkeeping (trainer_state.json). */
export interface TrainerState {
  readonly format: 1
  /** Optimizer steps done. */
  step: number
  /** Data position of the next micro-batch: epoch index and batch index within it. */
  epoch: number
  batch: number
  /** Micro-batches consumed since the start (names the dropout stream of the next one). */
  microStep: number
  readonly scheduler: { readonly name: ScheduleName; readonly base_lr: number; readonly warmup_steps: number; readonly total_steps: number }
  /** How every random stream is derived: nothing else needs saving to replay them. */
  readonly rng: { readonly seed: number; readonly data_order: string; readonly dropout: string }
  best?: { step: number; metric: string; value: number }
  /** Early stopping: best value by its threshold rule, and evaluations since it improved. */
  early: { best?: number; bad: number }
  history: { train: TrainRecord[]; eval: EvalRecord[] }
  /** Since the last TrainLog. */
  log: Accumulator
  /** Since the start of the run. */
  total: Accumulator
  /** True once early stopping fired. */
  stopped: boolean
}

export interface CheckpointData {
  readonly state: TrainerState
  readonly weights: ReadonlyMap<string, Float32Array>
  readonly optimizer: AdamWState
}

export function checkpointName(step: number): string {
  return `step-${step}`
}

/** Writes `root/step-N` atomically (temporary folder, then rename) and returns its path. */
export function writeCheckpoint(root: string, data: CheckpointData, shapes: ReadonlyMap<string, readonly number[]>): string {
  mkdirSync(root, { recursive: true })
  const name = checkpointName(data.state.step)
  const target = join(root, name)
  const tmp = join(root, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  mkdirSync(tmp)
  try {
    const shape = (k: string) => shapes.get(k) ?? [data.weights.get(k)!.length]
    writeFileSynced(join(tmp, WEIGHTS_FILE), encodeSafetensors(new Map([...data.weights].map(([k, v]) => [k, { shape: shape(k), data: v }])), { format: 'pt' }))
    const opt = new Map<string, { shape: readonly number[]; data: Float32Array }>()
    for (const [k, v] of data.optimizer.m) opt.set(`exp_avg.${k}`, { shape: shape(k), data: v })
    for (const [k, v] of data.optimizer.v) opt.set(`exp_avg_sq.${k}`, { shape: shape(k), data: v })
    writeFileSynced(join(tmp, OPTIMIZER_FILE), encodeSafetensors(opt, { step: String(data.optimizer.step) }))
    writeFileSynced(join(tmp, STATE_FILE), JSON.stringify(data.state, null, 2) + '\n')
    writeChecksums(tmp, CHECKPOINT_FILES)
    // Re-running a step after a resume replaces the older copy of the same step.
    if (existsSync(target)) rmSync(target, { recursive: true, force: true })
    renameSync(tmp, target)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
  return target
}

/** Complete checkpoints under `root`, oldest first. Temporary folders of interrupted writes are ignored. */
export function listCheckpoints(root: string): { step: number; dir: string }[] {
  if (!existsSync(root)) return []
  const out: { step: number; dir: string }[] = []
  for (const name of readdirSync(root)) {
    const m = /^step-(\d+)$/.exec(name)
    if (m && existsSync(join(root, name, STATE_FILE))) out.push({ step: Number(m[1]), dir: join(root, name) })
  }
  return out.sort((a, b) => a.step - b.step)
}

/** Removes temporary folders left by a write that was killed. */
export function removeIncompleteCheckpoints(root: string): void {
  if (!existsSync(root)) return
  for (const name of readdirSync(root)) if (/^\.step-\d+\.tmp-/.test(name)) rmSync(join(root, name), { recursive: true, force: true })
}

/** Reads a checkpoint whose files match their checksums (CheckpointError naming the file otherwise). */
export function readCheckpoint(dir: string): CheckpointData {
  const damaged = verifyChecksums(dir, CHECKPOINT_FILES)
  if (damaged) throw new CheckpointError({ dir, reason: damaged })
  let state: TrainerState
  try {
    state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as TrainerState
  } catch (e) {
    throw new CheckpointError({ dir, reason: `cannot read ${STATE_FILE}: ${(e as Error).message}` })
  }
  if (state.format !== 1) throw new CheckpointError({ dir, reason: `unknown checkpoint format ${String(state.format)}` })
  const read = (file: string) => {
    try {
      return readSafetensorsSync(join(dir, file))
    } catch (e) {
      throw new CheckpointError({ dir, reason: `cannot read ${file}: ${(e as Error).message}` })
    }
  }
  const weights = new Map<string, Float32Array>()
  for (const [k, t] of read(WEIGHTS_FILE).tensors) weights.set(k, Float32Array.from(t.data))
  const opt = read(OPTIMIZER_FILE)
  const m = new Map<string, Float32Array>()
  const v = new Map<string, Float32Array>()
  for (const [k, t] of opt.tensors) {
    if (k.startsWith('exp_avg_sq.')) v.set(k.slice('exp_avg_sq.'.length), Float32Array.from(t.data))
    else if (k.startsWith('exp_avg.')) m.set(k.slice('exp_avg.'.length), Float32Array.from(t.data))
  }
  const step = Number(opt.metadata?.step ?? state.step)
  return { state, weights, optimizer: { step, m, v } }
}

/**
 * The newest checkpoint under `root` that is intact (checksums) and describes a point of this run
 * (checkTrainerState). Newer ones that are damaged are moved aside to `damaged-step-N`, each with
 * a warning. A checkpoint of a run with other settings (`sameSettings` false) is returned as it
 * is, for the caller to refuse. Throws CheckpointError naming each damaged file when checkpoints
 * exist but none is intact (and leaves them in place); undefined when there are none.
 */
export function resumableCheckpoint(
  root: string,
  run: RunShape,
  sameSettings: (state: TrainerState) => boolean,
  warn: (message: string) => void,
): { dir: string; data: CheckpointData } | undefined {
  const damaged: { step: number; dir: string; problem: string }[] = []
  const all = listCheckpoints(root)
  for (let i = all.length - 1; i >= 0; i--) {
    const c = all[i]!
    let problem: string | undefined
    let data: CheckpointData | undefined
    try {
      data = readCheckpoint(c.dir)
      if (sameSettings(data.state)) problem = checkTrainerState(join(c.dir, STATE_FILE), c.step, data.state, data.optimizer.step, run)
    } catch (e) {
      problem = e instanceof CheckpointError ? e.reason : (e as Error).message
    }
    if (problem === undefined) {
      for (const d of damaged) warn(`checkpoint step-${d.step} is not usable: ${d.problem}; it was moved to ${setAside(root, d)} and the run continues from step-${c.step}`)
      return { dir: c.dir, data: data! }
    }
    damaged.push({ ...c, problem })
  }
  if (damaged.length > 0) {
    throw new CheckpointError({
      dir: root,
      reason: `no intact checkpoint to resume from: ${damaged.map((d) => d.problem).join('; ')}. Start a new run with another --out, or delete ${root} to train this run again from the start`,
    })
  }
  return undefined
}

function setAside(root: string, c: { step: number; dir: string }): string {
  let aside = join(root, `damaged-${checkpointName(c.step)}`)
  for (let n = 2; existsSync(aside); n++) aside = join(root, `damaged-${checkpointName(c.step)}-${n}`)
  renameSync(c.dir, aside)
  return aside
}
