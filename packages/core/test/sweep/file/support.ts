// Helpers for sweep file tests: a sweep and its base pipeline in a temp folder, loaded.
import { join } from 'node:path'
import * as Effect from 'effect/Effect'
import { loadSweep, type SweepLoadOptions } from '../../../src/sweep/file/load.ts'
import type { SweepInvalid, ValidatedSweep } from '../../../src/sweep/file/types.ts'
import { minimalJob, writeFiles } from '../../support.ts'

export { at } from '../../support.ts'

/** A valid single-job base (its files need not exist to validate). */
export const base = minimalJob

/** The head of a sweep over `base.yaml`; append `parameters:` entries. */
export const head = `base: ./base.yaml
method: random
metric: { name: eval_accuracy }
run_cap: 4
parameters:
`

export function writeSweep(sweep: string, files: Record<string, string> = {}): string {
  const dir = writeFiles({ 'base.yaml': base, ...files, 'sweep.yaml': sweep })
  return join(dir, 'sweep.yaml')
}

export async function sweepOk(file: string, opts?: SweepLoadOptions): Promise<ValidatedSweep> {
  const r = await Effect.runPromise(Effect.either(loadSweep(file, opts)))
  if (r._tag === 'Left') throw new Error(`expected a valid sweep, got:\n${r.left.message}`)
  return r.right
}

export async function sweepError(file: string, opts?: SweepLoadOptions): Promise<SweepInvalid> {
  const r = await Effect.runPromise(Effect.either(loadSweep(file, opts)))
  if (r._tag === 'Right') throw new Error('expected the sweep to be invalid, but it validated')
  return r.left
}

/** Diagnostics of an invalid sweep written from text. */
export async function errorsOf(sweep: string, files: Record<string, string> = {}, opts?: SweepLoadOptions) {
  return [...(await sweepError(writeSweep(sweep, files), opts)).diagnostics]
}
