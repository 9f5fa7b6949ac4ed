// The run folder: `output.dir`, or `runs/<name>/<timestamp>` under the current folder. A stage is
// complete exactly when its `stage.json` exists (written atomically, last), so a killed run never
// leaves a stage that looks finished.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import type { ValidatedPipeline } from '../pipeline/types.ts'
import { isTempFile, writeFileAtomic, writeJsonAtomic } from '../fs/atomic.ts'
import { FILE_KINDS, readUserFile, readUserText, UserFileError } from '../fs/user-file.ts'
import { RUN_LOCK } from './lock.ts'
import { makeFolder } from '../fs/make-folder.ts'

export function timestamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-')
}

export function defaultRunDir(p: ValidatedPipeline, cwd = process.cwd()): string {
  return p.output.dir ? resolve(cwd, p.output.dir) : resolve(cwd, 'runs', p.name, timestamp())
}

export function stageDir(p: ValidatedPipeline, runDir: string, stageId: string): string {
  return p.shortForm ? runDir : join(runDir, stageId)
}

export const STAGE_RECORD = 'stage.json'

export interface StageRecord {
  readonly stage: string
  readonly uses: string
  readonly outputs: Record<string, unknown>
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationMs: number
}

export function readStageRecord(dir: string): StageRecord | undefined {
  const f = join(dir, STAGE_RECORD)
  if (!existsSync(f)) return undefined
  return JSON.parse(readFileSync(f, 'utf8')) as StageRecord
}

export function writeStageRecord(dir: string, rec: StageRecord): void {
  writeJsonAtomic(join(dir, STAGE_RECORD), rec)
}

/** A custom stage's module as the run started with it: resume refuses to go on with other code. */
export interface StageCode {
  readonly stage: string
  readonly path: string
  readonly sha256: string
}

/** What a run folder records about how it was started, so it can be understood (and resumed). */
export interface RunRecord {
  readonly pipeline: string
  readonly file: string
  /** The folder the pipeline's relative paths are resolved from (the pipeline file's folder). */
  readonly dir?: string
  readonly sets: readonly string[]
  readonly cwd: string
  readonly startedAt: string
  readonly code?: readonly StageCode[]
  /** When the run was continued with `--resume`. */
  readonly resumes?: readonly string[]
}

export const RESOLVED_CONFIG = 'config.resolved.yaml'
export const RUN_RECORD = 'run.json'

/** The sha256 of a stage module. Throws UserFileError for anything but a regular file within the limit. */
export function sha256Of(file: string): string {
  return createHash('sha256').update(readUserFile(file, FILE_KINDS.stageModule)).digest('hex')
}

export function stageCode(p: ValidatedPipeline): StageCode[] {
  return [...p.stages.values()].flatMap((n) => (n.module ? [{ stage: n.id, path: n.module.path, sha256: sha256Of(n.module.path) }] : []))
}

/**
 * Writes the resolved config and run.json of a new run (`sets`: the `--set` arguments it was made
 * with, `cwd`: the folder it runs in). On resume neither is rewritten (see noteResume).
 */
export function prepareRunDir(p: ValidatedPipeline, runDir: string, sets: readonly string[], cwd = process.cwd()): void {
  makeFolder(runDir)
  writeFileAtomic(join(runDir, RESOLVED_CONFIG), `# ${p.name}: resolved from ${p.file}${sets.length ? ` with ${sets.map((s) => `--set ${s}`).join(' ')}` : ''}\n` + stringify(p.resolved))
  const rec: RunRecord = { pipeline: p.name, file: p.file, dir: p.dir, sets, cwd, startedAt: new Date().toISOString(), code: stageCode(p) }
  writeJsonAtomic(join(runDir, RUN_RECORD), rec)
}

export const RUN_EVENTS = 'events.jsonl'

/**
 * Whether the run in `runDir` has started: its first event is written. A folder prepared and not
 * started (a sweep's trial is prepared by its executor, then started with `run --resume`) starts
 * as a new run would.
 */
export const runStarted = (runDir: string) => existsSync(join(runDir, RUN_EVENTS))

/** Adds the time of a resume to run.json (not for a run that had not started: its first start is no resume). */
export function noteResume(runDir: string, rec: RunRecord): void {
  if (!runStarted(runDir)) return
  writeJsonAtomic(join(runDir, RUN_RECORD), { ...rec, resumes: [...(rec.resumes ?? []), new Date().toISOString()] })
}

/** What is at a path that is to become a run folder. */
export type RunFolderState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'run' }
  | { readonly kind: 'not a folder' }
  /** A folder with someone's files in it: never written into. */
  | { readonly kind: 'foreign'; readonly entries: readonly string[] }

export function inspectRunFolder(dir: string): RunFolderState {
  let st
  try {
    st = statSync(dir)
  } catch {
    return { kind: 'absent' }
  }
  if (!st.isDirectory()) return { kind: 'not a folder' }
  if (existsSync(join(dir, RUN_RECORD))) return { kind: 'run' }
  // A run killed before it wrote run.json leaves at most its lock file, the resolved config
  // (written first) and a temporary file: it never started, and a new run may take the folder.
  const entries = readdirSync(dir).filter((n) => n !== RUN_LOCK && n !== RESOLVED_CONFIG && !isTempFile(n))
  return entries.length === 0 ? { kind: 'empty' } : { kind: 'foreign', entries: entries.sort() }
}

/** Why a folder in `state` cannot take a new run (`out`: the folder as the user named it), as `lorapipe run` says it; undefined when it can. */
export function newRunRefusal(runDir: string, state: RunFolderState, out = runDir): { readonly message: string; readonly hint: string } | undefined {
  const elsewhere = 'choose a new or empty folder with --out (or output.dir)'
  switch (state.kind) {
    case 'absent':
    case 'empty':
      return undefined
    case 'run':
      return { message: `${runDir} already holds a run`, hint: `\`lorapipe run --resume ${out}\` continues it; or choose another --out` }
    case 'not a folder':
      return { message: `the run folder ${runDir} exists and is not a folder`, hint: elsewhere }
    case 'foreign': {
      const shown = state.entries.slice(0, 5).join(', ') + (state.entries.length > 5 ? `, … (${state.entries.length} entries)` : '')
      return { message: `${runDir} is not empty and is not a lorapipe run folder (it holds ${shown}); lorapipe writes runs only into a new or empty folder, so nothing of yours is replaced`, hint: elsewhere }
    }
  }
}

/** The record of the run in `dir`, for `lorapipe run --resume DIR`; an error text when there is none. */
export function readRunRecord(dir: string): RunRecord | { error: string } {
  const f = join(dir, RUN_RECORD)
  if (!existsSync(f)) return { error: `${dir} is not a run folder (no run.json); pass the folder that \`lorapipe run\` printed` }
  let text: string
  try {
    text = readUserText(f, FILE_KINDS.config)
  } catch (e) {
    if (e instanceof UserFileError) return { error: e.message }
    throw e
  }
  try {
    const rec = JSON.parse(text) as RunRecord
    if (typeof rec.file !== 'string' || !Array.isArray(rec.sets)) return { error: `${f} is damaged (no pipeline file recorded)` }
    return rec
  } catch (e) {
    return { error: `${f} is not valid JSON: ${(e as Error).message}` }
  }
}
