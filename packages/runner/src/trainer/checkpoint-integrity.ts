// Whether a checkpoint can be trusted: every file it holds is listed with its sha256 in
// SHA256SUMS (the format of `sha256sum`, so `sha256sum -c SHA256SUMS` checks it by hand), and the
// trainer state it records must describe a point of this run (a step within the run, a data
// position that step can have reached, history no further than the step). A truncated file, a
// flipped bit or an edited trainer_state.json is found here, before anything is loaded.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileSynced } from '@lorapipe/core/fs/atomic.ts'

export const CHECKSUMS_FILE = 'SHA256SUMS'

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

/** Writes SHA256SUMS for `files` (names inside `dir`); written last, inside the not-yet-renamed folder. */
export function writeChecksums(dir: string, files: readonly string[]): void {
  writeFileSynced(join(dir, CHECKSUMS_FILE), files.map((f) => `${sha256(join(dir, f))}  ${f}\n`).join(''))
}

/** The first problem with the files of the checkpoint in `dir`, naming the file; undefined when all match. */
export function verifyChecksums(dir: string, required: readonly string[]): string | undefined {
  let text: string
  try {
    text = readFileSync(join(dir, CHECKSUMS_FILE), 'utf8')
  } catch {
    return `${join(dir, CHECKSUMS_FILE)} is missing, so the checkpoint cannot be verified`
  }
  const listed = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line)
    if (!m) return `${join(dir, CHECKSUMS_FILE)} is damaged (line "${line.slice(0, 80)}")`
    listed.set(m[2]!, m[1]!)
  }
  for (const f of required) if (!listed.has(f)) return `${join(dir, CHECKSUMS_FILE)} does not list ${f}`
  for (const [f, expected] of listed) {
    let actual: string
    try {
      actual = sha256(join(dir, f))
    } catch (e) {
      return `${join(dir, f)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`
    }
    if (actual !== expected) return `${join(dir, f)} does not match its checksum (sha256 ${actual.slice(0, 12)}…, recorded ${expected.slice(0, 12)}…): the file is damaged or was edited`
  }
  return undefined
}

/** The run a checkpoint is checked against: its step plan. */
export interface RunShape {
  readonly totalSteps: number
  readonly batchesPerEpoch: number
  readonly updatesPerEpoch: number
  readonly accumulation: number
}

/** The parts of the trainer state the checks read. */
export interface StateToCheck {
  readonly step: unknown
  readonly epoch: unknown
  readonly batch: unknown
  readonly microStep: unknown
  readonly best?: { readonly step: unknown } | undefined
  readonly early?: { readonly bad: unknown } | undefined
  readonly history?: { readonly train?: readonly { step: unknown }[]; readonly eval?: readonly { step: unknown }[] } | undefined
  readonly total?: { readonly steps: unknown } | undefined
}

const whole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0

/**
 * The first way the state in `dir`'s trainer_state.json cannot be a point of this run, or
 * undefined. `optimizerStep` is the step count stored with the optimizer moments.
 */
export function checkTrainerState(file: string, dirStep: number, s: StateToCheck, optimizerStep: number, run: RunShape): string | undefined {
  const bad = (what: string) => `${file}: ${what}`
  if (!whole(s.step) || s.step > run.totalSteps) return bad(`step ${String(s.step)} is not within this run's steps 0..${run.totalSteps}`)
  if (s.step !== dirStep) return bad(`step ${s.step} does not match the checkpoint's folder name step-${dirStep}`)
  if (optimizerStep !== s.step) return bad(`step ${s.step} does not match the optimizer's step count ${optimizerStep}`)
  if (!whole(s.epoch) || !whole(s.batch) || s.batch >= run.batchesPerEpoch || s.batch % run.accumulation !== 0)
    return bad(`data position epoch ${String(s.epoch)}, batch ${String(s.batch)} is not one this run can reach (${run.batchesPerEpoch} batches per epoch, ${run.accumulation} per step)`)
  // Each step takes `accumulation` batches (fewer at the end of an epoch, never across it).
  const expected = s.epoch * run.updatesPerEpoch + s.batch / run.accumulation
  if (expected !== s.step) return bad(`step ${s.step} does not match the data position (epoch ${s.epoch}, batch ${s.batch} is step ${expected})`)
  if (s.microStep !== s.epoch * run.batchesPerEpoch + s.batch) return bad(`microStep ${String(s.microStep)} does not match the data position (epoch ${s.epoch}, batch ${s.batch})`)
  if (s.total && s.total.steps !== s.step) return bad(`${String(s.total.steps)} steps counted, but the state is at step ${s.step}`)
  if (s.best && (!whole(s.best.step) || s.best.step > s.step)) return bad(`the best step ${String(s.best.step)} is after step ${s.step}`)
  if (s.early && !whole(s.early.bad)) return bad(`early stopping count ${String(s.early.bad)} is not a count`)
  for (const r of [...(s.history?.train ?? []), ...(s.history?.eval ?? [])]) {
    if (!whole(r.step) || r.step > s.step) return bad(`a history record at step ${String(r.step)} is after step ${s.step}`)
  }
  return undefined
}
