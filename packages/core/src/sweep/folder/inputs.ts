// The sweep's recipe: the files its trials are made of (the sweep file, the base pipeline, every
// file the base extends, every custom stage module it uses) and their sha256 when the sweep
// started, kept in sweep.json as `inputs`. A resumed sweep whose files were edited would mix two
// recipes in one leaderboard, so it is refused with the name of each changed file, unless the
// user accepts the change (`--accept-changes`): the change is then recorded (the record gets the
// next recipe number, which the trials assigned from then on carry, and sweep.json the new
// hashes). The sweep file itself is never accepted: it is the search space, which the resumed
// sweep replays from the record.
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { now } from '../../events.ts'
import { writeJsonAtomic } from '../../fs/atomic.ts'
import type { ValidatedSweep } from '../file/types.ts'
import { lockSweepFolder, readSweepState, SweepFolderBusy } from '../coordinator/coordinator.ts'
import { openRecord, type RecipeFileChange } from '../coordinator/record.ts'
import type { SweepStart } from './files.ts'
import { RECORD_FILE, SWEEP_START_FILE } from './layout.ts'

/** Absolute path -> sha256 of its bytes. */
export type SweepInputs = Readonly<Record<string, string>>

/** The sha256 of a regular file, or undefined when there is none at `path` (gone, a folder, a device). */
function hashOf(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return undefined
  } catch {
    return undefined
  }
  const h = createHash('sha256')
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(1 << 16)
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return h.digest('hex')
}

/** The files of a validated sweep's recipe, with their sha256 now. */
export function sweepInputs(sweep: ValidatedSweep): Record<string, string> {
  const modules = [...sweep.basePipeline.stages.values()].flatMap((n) => (n.module ? [n.module.path] : []))
  const files = [...new Set([sweep.file, ...sweep.basePipeline.files, ...modules])]
  return Object.fromEntries(files.flatMap((f) => {
    const h = hashOf(f)
    return h ? [[f, h]] : []
  }))
}

export interface InputChange extends RecipeFileChange {
  /** The sha256 recorded, and now (for a changed file). */
  readonly was?: string
  readonly now?: string
}

/** The recorded files (but `except`, the sweep file, checked on its own) that are not as recorded. */
export function changedInputs(recorded: SweepInputs, except?: string): InputChange[] {
  const out: InputChange[] = []
  for (const [path, was] of Object.entries(recorded)) {
    if (path === except) continue
    const h = hashOf(path)
    if (h === undefined) out.push({ path, change: 'missing', was })
    else if (h !== was) out.push({ path, change: 'changed', was, now: h })
  }
  return out
}

/** Files the recipe is made of now that it was not made of (a new `extends`, a new stage module). */
export function addedInputs(recorded: SweepInputs, current: SweepInputs): InputChange[] {
  return Object.keys(current)
    .filter((p) => !(p in recorded))
    .map((path) => ({ path, change: 'added' as const, now: current[path] }))
}

/** One line per file: `  /x/base.yaml: changed (sha256 1a2b3c4d5e6f… then, … now)`. */
export function changeLines(changes: readonly InputChange[]): string {
  const how = (c: InputChange) =>
    c.change === 'changed' ? `changed (sha256 ${c.was!.slice(0, 12)}… then, ${c.now!.slice(0, 12)}… now)` : c.change === 'missing' ? 'missing (gone, or no longer a file)' : 'added to the recipe'
  return changes.map((c) => `\n  ${c.path}: ${how(c)}`).join('')
}

/** Why a resume is refused: the recipe's files changed. `accept` is how to go on with the new recipe. */
export function recipeChangedMessage(dir: string, changes: readonly InputChange[], accept: string): { message: string; hint: string } {
  const n = changes.length
  return {
    message: `the recipe of the sweep in ${dir} changed since it started; resuming would mix two recipes in one leaderboard. ${n === 1 ? 'This file of its trials is not as it was' : `These ${n} files of its trials are not as they were`}:${changeLines(changes)}`,
    hint: `restore ${n === 1 ? 'it' : 'them'}, or ${accept} to go on with the new recipe (the leaderboard then says which trials ran under which)`,
  }
}

/** The message for a sweep.json from before inputs were recorded. */
export const UNKNOWN_INPUTS_NOTE = 'note: this sweep was started by an earlier lorapipe, which did not record the hashes of its base pipeline and stage modules; whether they changed since is not known\n'

/**
 * Records an accepted change of recipe, holding the sweep folder's lock: the record gets the
 * next recipe number (first, so that a kill between the two writes leaves the change detected
 * again rather than silent), then sweep.json the new hashes. SweepFolderBusy (and nothing
 * written) when another process runs the sweep.
 */
export function acceptRecipeChange(dir: string, start: SweepStart, inputs: SweepInputs, changes: readonly RecipeFileChange[]): number | SweepFolderBusy {
  const lock = lockSweepFolder(dir)
  if (lock instanceof SweepFolderBusy) return lock
  try {
    const recipe = readSweepState(dir).recipe + 1
    const record = openRecord(join(dir, RECORD_FILE))
    try {
      record.append({ type: 'recipe', time: now(), recipe, files: changes.map((c) => ({ path: c.path, change: c.change })) })
    } finally {
      record.close()
    }
    writeJsonAtomic(join(dir, SWEEP_START_FILE), { ...start, inputs })
    return recipe
  } finally {
    lock.release()
  }
}
