// Starting a sweep in a new folder, or going on with the one in a folder: the steps that
// `lorapipe sweep`, the `uses: sweep` stage and `lorapipe run --resume` (for its sweep stages) take
// before the coordinator runs. Each gives the next thing or says why not; a step that refuses has
// written nothing, and a new folder that could not be written is left as it was.
import { existsSync, readdirSync, statSync } from 'node:fs'
import * as Cause from 'effect/Cause'
import * as Data from 'effect/Data'
import * as Exit from 'effect/Exit'
import * as Option from 'effect/Option'
import { UserFileError } from '../../fs/user-file.ts'
import { SweepFolderBusy } from '../coordinator/coordinator.ts'
import { storageFailure, SweepFolderUnwritable } from '../coordinator/unwritable.ts'
import type { ValidatedSweep } from '../file/types.ts'
import { fileHash, readSweepStart, startSweepFolder, type SweepStart } from './files.ts'
import { acceptRecipeChange, addedInputs, changedInputs, type InputChange, recipeChangedMessage, sweepInputs } from './inputs.ts'
import { holdsSweep } from './layout.ts'

/** Why a sweep cannot start or go on: bad input (exit 2), said as `error: <message>` and its hint. */
export class SweepRefused extends Data.TaggedError('SweepRefused')<{ readonly reason: string; readonly hint?: string }> {
  override get message(): string {
    return this.reason
  }
}

export interface Resumable {
  readonly start: SweepStart
  /** The files of its recipe that are not as it recorded them (accepted, or there would be a refusal). */
  readonly changes: readonly InputChange[]
}

/**
 * How the sweep in `dir` was started, checked for going on: its sweep file unchanged, and its
 * recipe unchanged unless `accept` (`acceptHow` says how the user accepts a change, for the hint).
 */
export function resumable(dir: string, opts: { readonly accept: boolean; readonly acceptHow: string }): Resumable | SweepRefused {
  const start = readSweepStart(dir, { acceptChanges: opts.accept })
  if ('error' in start) return new SweepRefused({ reason: start.error })
  const changes = start.inputs ? changedInputs(start.inputs, start.file) : []
  if (changes.length > 0 && !opts.accept) {
    const r = recipeChangedMessage(dir, changes, opts.acceptHow)
    return new SweepRefused({ reason: r.message, hint: r.hint })
  }
  return { start, changes }
}

/**
 * Records an accepted change of recipe in the sweep in `dir`, with `sweep` loaded anew: the start
 * with the recipe's hashes now. SweepFolderBusy (nothing written) when another process runs the
 * sweep; a write that fails (a full disk) throws.
 */
export function acceptChanges(dir: string, was: Resumable, sweep: ValidatedSweep): SweepStart | SweepFolderBusy {
  if (was.changes.length === 0 || was.start.inputs === undefined) return was.start
  const inputs = sweepInputs(sweep)
  const done = acceptRecipeChange(dir, was.start, inputs, [...was.changes, ...addedInputs(was.start.inputs, inputs)])
  return done instanceof SweepFolderBusy ? done : { ...was.start, inputs }
}

/** A new sweep's start, from its file as it is now (its hash first: nothing is written before). */
export function newStart(file: string, sets: readonly string[], concurrency: number): SweepStart | UserFileError {
  try {
    return { sweep: '', file, sha256: fileHash(file), sets, cwd: process.cwd(), concurrency, startedAt: new Date().toISOString() }
  } catch (e) {
    if (e instanceof UserFileError) return e
    throw e
  }
}

/** Why `dir` cannot take a new sweep (`out`: the folder as the user named it): as for a run folder, a new or empty folder only. */
export function newFolderRefusal(dir: string, out: string): SweepRefused | undefined {
  if (holdsSweep(dir)) return new SweepRefused({ reason: `${dir} already holds a sweep`, hint: `\`lorapipe sweep --resume ${out}\` continues it; or choose another --out` })
  if (!existsSync(dir)) return undefined
  if (!statSync(dir).isDirectory()) return new SweepRefused({ reason: `--out ${dir} is a file, not a folder`, hint: 'name a new or empty folder' })
  if (readdirSync(dir).length > 0) return new SweepRefused({ reason: `${dir} is not empty and holds no sweep; lorapipe writes a sweep only into a new or empty folder`, hint: 'choose another --out' })
  return undefined
}

/**
 * Writes a new sweep's sweep.json (its start, with the recipe's hashes) and sweep.resolved.yaml;
 * the start as written. SweepFolderUnwritable when the folder cannot take them (what was written
 * is removed again); `next` says what to do then.
 */
export function createSweepFolder(dir: string, sweep: ValidatedSweep, start: SweepStart, concurrency: number, next?: string): SweepStart | SweepFolderUnwritable {
  const made = { ...start, sweep: sweep.name, concurrency, inputs: sweepInputs(sweep) }
  try {
    startSweepFolder(dir, sweep, made)
    return made
  } catch (e) {
    const f = storageFailure(e)
    if (!f) throw e
    return new SweepFolderUnwritable({ dir, path: f.path ?? dir, errno: f.code, saved: 'Nothing was run, and the folder was left as it was.', ...(next ? { next } : {}) })
  }
}

/** The sweep ended without writing anything more (its folder was another process's, or could not be written): no report goes there. */
export const wroteNothing = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), (e) => e instanceof SweepFolderBusy || e instanceof SweepFolderUnwritable)
