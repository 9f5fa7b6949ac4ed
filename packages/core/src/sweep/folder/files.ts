// The sweep folder's own files besides the coordinator's record and results: how the sweep was
// started (sweep.json, so `--resume` loads the same sweep the same way), the resolved sweep
// (sweep.resolved.yaml) and the sweep events (events.jsonl). Their names: ./layout.ts.
import { createHash } from 'node:crypto'
import { existsSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { writeFileAtomic, writeJsonAtomic } from '../../fs/atomic.ts'
import { lineAppender } from '../../fs/append-lines.ts'
import { FILE_KINDS, readUserFile, readUserText, UserFileError } from '../../fs/user-file.ts'
import { redactDeep } from '../../text/redact.ts'
import type { SweepEventSink } from '../events.ts'
import type { ValidatedSweep } from '../file/types.ts'
import { SWEEP_EVENTS_FILE, SWEEP_RESOLVED_FILE, SWEEP_START_FILE } from './layout.ts'

/** How a sweep was started. */
export interface SweepStart {
  readonly sweep: string
  /** The sweep file (absolute) and a hash of its text when the sweep started. */
  readonly file: string
  readonly sha256: string
  /** `--set` arguments for the base, as given. */
  readonly sets: readonly string[]
  /** The folder it was started in (relative `--set` paths are relative to it). */
  readonly cwd: string
  readonly concurrency: number
  readonly startedAt: string
  /**
   * The recipe: absolute path -> sha256 of the sweep file, the base pipeline, the files it extends
   * and its custom stage modules (see ./inputs.ts). Absent in sweeps started before lorapipe recorded it.
   */
  readonly inputs?: Readonly<Record<string, string>>
}

/** The sha256 of a sweep file. Throws UserFileError for anything but a regular file within the limit. */
export const fileHash = (file: string) => createHash('sha256').update(readUserFile(file, FILE_KINDS.yaml)).digest('hex')

/**
 * How the sweep in `dir` was started, or why it cannot be resumed. `acceptChanges`: the user
 * accepts a changed recipe, which does not cover the sweep file (the message says so).
 */
export function readSweepStart(dir: string, opts: { acceptChanges?: boolean } = {}): SweepStart | { error: string } {
  const f = join(dir, SWEEP_START_FILE)
  if (!existsSync(f)) return { error: `${dir} is not a sweep folder (no ${SWEEP_START_FILE}); pass the folder that \`lorapipe sweep\` printed` }
  let s: SweepStart
  try {
    s = JSON.parse(readUserText(f, FILE_KINDS.config)) as SweepStart
  } catch (e) {
    if (e instanceof UserFileError) return { error: e.message }
    return { error: `${f} is damaged: ${(e as Error).message}` }
  }
  let hash: string
  try {
    hash = fileHash(s.file)
  } catch (e) {
    if (!(e instanceof UserFileError)) throw e
    return { error: e.problem === 'not found' ? `the sweep file ${s.file} that this sweep was started with is gone; put it back to resume` : `the sweep file ${e.message}` }
  }
  // Samplers replay the search from the record; another search space would not be the same sweep.
  if (hash !== s.sha256) {
    const accepted = opts.acceptChanges
      ? '; --accept-changes covers the base pipeline, the files it extends and its stage modules, not the sweep file: it is the search space, which the resumed sweep replays from its record'
      : ''
    return { error: `the sweep file ${s.file} changed since the sweep in ${dir} started; resuming would mix two searches${accepted}\n  hint: restore the file, or start a new sweep with it` }
  }
  return s
}

/**
 * Writes sweep.json and sweep.resolved.yaml into a new (or empty) sweep folder. When that fails
 * (a full disk), what it wrote is removed again, so the same command can be run once there is room.
 */
export function startSweepFolder(dir: string, sweep: ValidatedSweep, start: SweepStart): void {
  const fresh = !existsSync(dir)
  const files = [join(dir, SWEEP_START_FILE), join(dir, SWEEP_RESOLVED_FILE)]
  try {
    writeJsonAtomic(files[0]!, start)
    // The document with its base made absolute and the command line's --set values beside it.
    const doc = { ...sweep.document, name: sweep.name, base: sweep.base, ...(sweep.sets.length ? { sets: sweep.sets } : {}) }
    const head = `# ${sweep.name}: resolved from ${sweep.file}${sweep.sets.length ? ` with ${sweep.sets.map((x) => `--set ${x}`).join(' ')}` : ''}\n`
    writeFileAtomic(files[1]!, head + stringify(doc))
  } catch (e) {
    for (const f of files) rmSync(f, { force: true })
    if (fresh) {
      try {
        rmdirSync(dir) // only the folder it made, and only when empty
      } catch {
        // not empty or already gone: left as it is
      }
    }
    throw e
  }
}

/** The sweep folder's events.jsonl: appended as events happen, so a killed sweep keeps its history. */
export function sweepEventsFile(dir: string): SweepEventSink {
  // Nothing is written before the first event, which the coordinator publishes once it holds the folder.
  const append = lineAppender(join(dir, SWEEP_EVENTS_FILE))
  // Secrets never reach the file (trial errors can quote a server's message): see core's redact.ts.
  return (e) => append(JSON.stringify(redactDeep(e)))
}
