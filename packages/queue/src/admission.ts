// What a worker serves and runs. A worker trusts its own launch (its command line, its environment
// and its --allow folders) and the files of a sweep inside those folders; it trusts nothing read
// from Redis. So:
// - a sweep in the registry is served only when its folder lies inside an allowed folder (real
//   path), holds a sweep (sweep.json and the record sweep.jsonl), its sweep.json has the hash the
//   coordinator registered, and the sweep loads from it as `lorapipe sweep --resume` loads it, with
//   its sweep file, base pipeline (and what it extends) and every stage module inside allowed folders
//   (checked before any module is imported);
// - a job is run only when its data has its exact shape, its id is that of its trial, its sweep
//   hash is that of sweep.json now, its values are within the sweep file's declared parameters and
//   domains, and they are the values the coordinator recorded for that trial in sweep.jsonl. The
//   worker then builds the trial itself (its pipeline from the base and the values, with core's
//   trialPipeline, and a run folder in the sweep folder's trials/), exactly as the local
//   coordinator does. Nothing in the job names a file.
// Every refusal is a sentence saying why; a refused job runs nothing and writes nothing.
import { existsSync, lstatSync, realpathSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import { formatDiagnostics } from '@lorapipe/core'
import { isModuleRef } from '@lorapipe/core/pipeline/load.ts'
import { loadWithExtends } from '@lorapipe/core/source/extends.ts'
import { isPlainObject, readYamlFile } from '@lorapipe/core/source/document.ts'
import { loadSweep } from '@lorapipe/core/sweep/file/load.ts'
import type { ValidatedSweep } from '@lorapipe/core/sweep/file/types.ts'
import type { Assignment, SearchSpace } from '@lorapipe/core/sweep/model.ts'
import { canonicalKey } from '@lorapipe/core/sweep/samplers/configuration.ts'
import { readRecord } from '@lorapipe/core/sweep/coordinator/record.ts'
import type { TrialSpec } from '@lorapipe/core/sweep/coordinator/executor.ts'
import { readSweepStart, type SweepStart } from '@lorapipe/core/sweep/folder/files.ts'
import { RECORD_FILE, SWEEP_START_FILE, TRIALS_DIR, trialPidFile, trialRunDir } from '@lorapipe/core/sweep/folder/layout.ts'
import { assignedValues, trialPipeline } from '@lorapipe/core/sweep/trial.ts'
import { FILE_KINDS, readUserFile, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { type AllowedFolders, isInside } from './allowed.ts'
import { trialEnv } from './connection.ts'
import { decodeTrialJob, type TrialJobData } from './job.ts'
import { jobIdOf, type SweepEntry } from './registry.ts'
import { ShapeInvalid } from './shape.ts'
import { sweepHashOf } from './sweep-hash.ts'

/** A sweep this worker serves: its real folder, the hash of its sweep.json, and the sweep loaded from it. */
export interface ServedSweep {
  readonly entry: SweepEntry
  /** Real path of the sweep folder. */
  readonly dir: string
  readonly hash: string
  readonly start: SweepStart
  readonly sweep: ValidatedSweep
}

export type Refusal = { readonly refused: string }
export const isRefusal = (x: object): x is Refusal => 'refused' in x

const short = (hash: string) => `${hash.slice(0, 12)}…`
const show = (v: unknown) => {
  const t = JSON.stringify(v) ?? String(v)
  return t.length > 80 ? `${t.slice(0, 80)}…` : t
}

/**
 * Files a sweep will read and stage modules it will import, found without importing anything: the
 * base pipeline and the files it extends, and every module a stage's `uses` names there, in a
 * `--set` of the sweep's command line, or among a parameter's values.
 */
function sweepSources(start: SweepStart): { readonly files: string[]; readonly modules: string[]; readonly problem?: string } {
  const parsed = readYamlFile(start.file)
  if (!parsed.ok || !isPlainObject(parsed.doc.value) || typeof parsed.doc.value.base !== 'string') return { files: [], modules: [] } // loadSweep says what is wrong
  const doc = parsed.doc.value
  const base = resolve(dirname(start.file), doc.base as string)
  const loaded = loadWithExtends(base)
  const uses: unknown[] = []
  const top = loaded.doc?.value
  if (isPlainObject(top) && isPlainObject(top.stages)) for (const st of Object.values(top.stages)) if (isPlainObject(st)) uses.push(st.uses)
  const usesPath = /^stages\.[^.=]+\.uses$/
  for (const s of start.sets) {
    const eq = s.indexOf('=')
    if (eq > 0 && usesPath.test(s.slice(0, eq).trim())) uses.push(s.slice(eq + 1).trim().replace(/^(['"])(.*)\1$/, '$2'))
  }
  if (isPlainObject(doc.parameters)) {
    for (const [name, p] of Object.entries(doc.parameters)) {
      if (!isPlainObject(p)) continue
      if (usesPath.test(name)) uses.push(p.value, ...(Array.isArray(p.values) ? p.values : []))
      if (Array.isArray(p.together)) for (const b of p.together) if (isPlainObject(b)) for (const [k, v] of Object.entries(b)) if (usesPath.test(k)) uses.push(v)
    }
  }
  const modules: string[] = []
  for (const u of uses) {
    if (typeof u !== 'string' || !isModuleRef(u)) continue
    if (u.includes('${')) return { files: loaded.files, modules, problem: `a stage's module is named through a reference (\`${u}\`), which this worker cannot check before loading it; name the module's file` }
    modules.push(resolve(dirname(base), u))
  }
  return { files: [start.file, ...loaded.files], modules }
}

/** Why `path` (a `what`) may not be used, or undefined when it lies inside an allowed folder. */
function outsideProblem(allowed: AllowedFolders, path: string, what: string): string | undefined {
  const c = allowed.check(path)
  if ('real' in c) return undefined
  if ('missing' in c) return `${what} ${path} is not on this machine (every worker needs the sweep's files at the same path as its coordinator)`
  return `${what} ${path}${c.outside !== path ? ` (${c.outside})` : ''} is outside the folders this worker serves (--allow ${allowed})`
}

/**
 * Loads sweeps the way `lorapipe sweep --resume` does (relative --set paths from the folder the
 * sweep was started in), one at a time, and keeps each while its sweep.json and sweep file are
 * unchanged. A sweep that does not load is tried again only after a while: a worker looks at the
 * registry every second, and a large grid takes a while to check.
 */
export class SweepLoader {
  private readonly cache = new Map<string, ValidatedSweep | { readonly refusal: Refusal; readonly until: number }>()
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly retryAfterMs = 30_000) {}

  load(dir: string, hash: string, start: SweepStart): Promise<ValidatedSweep | Refusal> {
    const key = `${dir}\0${hash}\0${start.sha256}`
    const known = (): ValidatedSweep | Refusal | undefined => {
      const c = this.cache.get(key)
      if (c === undefined) return undefined
      if (!('refusal' in c)) return c
      if (Date.now() < c.until) return c.refusal
      this.cache.delete(key)
      return undefined
    }
    const now = known()
    if (now) return Promise.resolve(now)
    const run = this.queue.then(async (): Promise<ValidatedSweep | Refusal> => {
      const again = known()
      if (again) return again
      const before = process.cwd()
      const cwd = existsSync(start.cwd) && statSync(start.cwd).isDirectory() ? start.cwd : dir
      process.chdir(cwd)
      try {
        const r = await Effect.runPromise(Effect.either(loadSweep(start.file, { sets: start.sets })))
        if (this.cache.size >= 16) this.cache.delete(this.cache.keys().next().value!)
        if (r._tag === 'Left') {
          const refusal = { refused: `its sweep does not load here: ${formatDiagnostics(r.left.diagnostics).split('\n').slice(0, 6).join('\n')}` }
          this.cache.set(key, { refusal, until: Date.now() + this.retryAfterMs })
          return refusal
        }
        this.cache.set(key, r.right)
        return r.right
      } finally {
        process.chdir(before)
      }
    })
    this.queue = run.catch(() => undefined)
    return run
  }
}

/** Whether this worker serves the sweep of a registry entry: the sweep, loaded, or why not. */
export async function admitSweep(entry: SweepEntry, allowed: AllowedFolders, loader: SweepLoader): Promise<ServedSweep | Refusal> {
  if (!isAbsolute(entry.dir)) return { refused: `its folder \`${entry.dir}\` is not an absolute path` }
  const where = allowed.check(entry.dir)
  if ('outside' in where || ('missing' in where && !allowed.holdsReal(resolve(entry.dir)))) return { refused: `its folder is outside the folders this worker serves (--allow ${allowed})` }
  if ('missing' in where)
    return { refused: `this worker cannot reach its folder ${entry.dir}: trial run folders, checkpoints and adapters are written there, so every worker must see it at the same path (a shared file system: mount the coordinator's --out folder there)` }
  const dir = where.real
  if (!existsSync(join(dir, SWEEP_START_FILE)) || !existsSync(join(dir, RECORD_FILE))) return { refused: `${entry.dir} holds no sweep (no ${SWEEP_START_FILE} and ${RECORD_FILE})` }
  let hash: string
  try {
    hash = sweepHashOf(dir)
  } catch (e) {
    if (e instanceof UserFileError) return { refused: `cannot read its ${SWEEP_START_FILE}: ${e.message}` }
    throw e
  }
  if (hash !== entry.sweepHash) return { refused: `its ${SWEEP_START_FILE} (hash ${short(hash)}) is not the one its coordinator registered (${short(entry.sweepHash)})` }
  // The sweep file must be inside the allowed folders before anything reads it.
  let file: unknown
  try {
    file = (JSON.parse(readUserFile(join(dir, SWEEP_START_FILE), FILE_KINDS.config).toString('utf8')) as { file?: unknown }).file
  } catch (e) {
    return { refused: `its ${SWEEP_START_FILE} is damaged: ${(e as Error).message}` }
  }
  if (typeof file !== 'string' || !isAbsolute(file)) return { refused: `its ${SWEEP_START_FILE} names no sweep file` }
  const fileProblem = outsideProblem(allowed, file, 'its sweep file')
  if (fileProblem) return { refused: fileProblem }
  const start = readSweepStart(dir)
  if ('error' in start) return { refused: start.error }
  if (start.file !== file) return { refused: `its ${SWEEP_START_FILE} changed while it was read` }
  const sources = sweepSources(start)
  if (sources.problem) return { refused: sources.problem }
  for (const f of sources.files) {
    const p = outsideProblem(allowed, f, f === start.file ? 'its sweep file' : 'the pipeline file')
    if (p) return { refused: p }
  }
  for (const m of sources.modules) {
    const p = outsideProblem(allowed, m, 'the stage module')
    if (p) return { refused: p }
  }
  const sweep = await loader.load(dir, hash, start)
  if (isRefusal(sweep)) return sweep
  if (sweep.name !== entry.name) return { refused: `the registry calls it ${entry.name}, but its folder holds the sweep ${sweep.name}` }
  // What was loaded, checked again: the base, what it extends, and the modules its stages import.
  const loadedModules = [...sweep.basePipeline.stages.values()].flatMap((s) => (s.module ? [s.module.path] : []))
  for (const [f, what] of [[sweep.base, 'the base pipeline'] as const, ...sweep.basePipeline.files.map((f) => [f, 'the pipeline file'] as const), ...loadedModules.map((m) => [m, 'the stage module'] as const)]) {
    const p = outsideProblem(allowed, f, what)
    if (p) return { refused: p }
  }
  return { entry, dir, hash, start, sweep }
}

/** Why `assignment` is not a point of the sweep's space, or undefined when it is. */
export function assignmentProblem(space: SearchSpace, assignment: Assignment): string | undefined {
  const names = space.map((p) => p.name)
  for (const k of Object.keys(assignment)) if (!names.includes(k)) return `unknown parameter \`${k.length > 100 ? `${k.slice(0, 100)}…` : k}\`: the sweep file declares ${names.map((n) => `\`${n}\``).join(', ')}`
  for (const p of space) {
    if (!Object.prototype.hasOwnProperty.call(assignment, p.name)) return `no value for parameter \`${p.name}\``
    const v = assignment[p.name]
    const d = p.domain
    switch (d.kind) {
      case 'constant':
        if (canonicalKey(v) !== canonicalKey(d.value)) return `parameter \`${p.name}\` is fixed at ${show(d.value)}, not ${show(v)}`
        break
      case 'categorical':
        if (!d.choices.some((c) => canonicalKey(c) === canonicalKey(v))) return `parameter \`${p.name}\`: ${show(v)} is not one of its values ${show(d.choices)}`
        break
      case 'together':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= d.bundles.length) return `parameter \`${p.name}\`: ${show(v)} is not the index of one of its ${d.bundles.length} bundles`
        break
      case 'float':
      case 'int':
        if (typeof v !== 'number' || !Number.isFinite(v) || v < d.low || v > d.high || (d.kind === 'int' && !Number.isInteger(v)))
          return `parameter \`${p.name}\`: ${show(v)} is not a ${d.kind === 'int' ? 'whole number' : 'number'} from ${d.low} to ${d.high}`
        break
    }
  }
  return undefined
}

/** The values the coordinator recorded for `trial` (its last `assigned` entry), re-read a few times while absent (a shared file system may lag). */
async function recordedAssignment(dir: string, trial: number): Promise<Assignment | undefined | Refusal> {
  for (let i = 0; ; i++) {
    let found: Assignment | undefined
    try {
      for (const e of readRecord(join(dir, RECORD_FILE)).entries) if (e.type === 'assigned' && e.trial === trial) found = e.assignment
    } catch (e) {
      return { refused: `its record is damaged: ${(e as Error).message}` }
    }
    if (found !== undefined || i >= 3) return found
    await new Promise((r) => setTimeout(r, 300))
  }
}

/** The real path of `p` when something is there, else undefined; a link that leads nowhere leads out. */
function realIfThere(p: string): string | undefined {
  try {
    lstatSync(p)
  } catch {
    return undefined
  }
  try {
    return realpathSync(p)
  } catch {
    return 'nowhere (a broken symbolic link)'
  }
}

/**
 * Why the trial's run folder would not be inside the sweep folder `dir` (a real path), or
 * undefined: the trials folder, the run folder and its process-id file, where they exist, must
 * resolve (symbolic links followed) to places inside it.
 */
function confinementProblem(dir: string, trialsDir: string, runDir: string, pidFile: string): string | undefined {
  const realTrials = realIfThere(trialsDir)
  if (realTrials !== undefined && (!isInside(realTrials, dir) || realTrials === dir)) return `the trials folder ${trialsDir} leads out of the sweep folder (to ${realTrials})`
  const within = realTrials ?? trialsDir
  for (const [p, what] of [
    [runDir, 'the run folder'],
    [pidFile, 'the process-id file'],
  ] as const) {
    const real = realIfThere(p)
    if (real !== undefined && (!isInside(real, within) || real === within)) return `${what} ${p} leads out of the sweep folder (to ${real})`
  }
  return undefined
}

export interface AdmittedTrial {
  readonly data: TrialJobData
  /** The trial as the worker runs it (built by the worker, never taken from the job). */
  readonly spec: TrialSpec
  /** The folder the trial runs in: where the sweep was started (relative --set paths), else the sweep folder. */
  readonly cwd: string
}

/**
 * Whether to run a job taken from the queue of `entry`'s sweep: the trial to run, or why not.
 * Checks in order: the job's shape, its id, the sweep (admitSweep), the sweep hash, the values,
 * the record, the stage modules the values name, and the run folder's place.
 */
export async function admitJob(job: { readonly id?: string; readonly data: unknown }, entry: SweepEntry, allowed: AllowedFolders, loader: SweepLoader): Promise<AdmittedTrial | Refusal> {
  let data: TrialJobData
  try {
    data = decodeTrialJob(job.data, '')
  } catch (e) {
    if (e instanceof ShapeInvalid) return { refused: `not a trial job: ${e.message}` }
    throw e
  }
  if (data.sweep !== entry.id) return { refused: `the job names the sweep ${data.sweep}, but it is on the queue of the sweep ${entry.id}` }
  const expectedId = jobIdOf(entry.id, data.trial)
  if (job.id !== expectedId) return { refused: `the job's id \`${show(job.id).slice(1, -1)}\` is not \`${expectedId}\`, the id of trial ${data.trial} of this sweep` }
  const served = await admitSweep(entry, allowed, loader)
  if (isRefusal(served)) return { refused: `this worker does not serve its sweep: ${served.refused}` }
  const { dir, sweep } = served
  if (data.sweepHash !== served.hash)
    return { refused: `the job's sweep hash ${short(data.sweepHash)} is not the hash of ${join(dir, SWEEP_START_FILE)} (${short(served.hash)}): it was queued for another version of this sweep` }
  const bad = assignmentProblem(sweep.space, data.assignment)
  if (bad) return { refused: bad }
  const recorded = await recordedAssignment(dir, data.trial)
  if (recorded !== undefined && isRefusal(recorded)) return recorded
  if (recorded === undefined) return { refused: `trial ${data.trial} was not assigned by the sweep's coordinator (its record ${join(dir, RECORD_FILE)} has no \`assigned\` entry for it)` }
  if (canonicalKey(recorded) !== canonicalKey(data.assignment)) return { refused: `the values are not those the sweep's coordinator assigned to trial ${data.trial} (see ${join(dir, RECORD_FILE)})` }
  // A stage module that a value names is inside the allowed folders before building the trial's pipeline imports it.
  for (const [path, uses] of assignedValues(sweep.space, data.assignment)) {
    if (!/^stages\.[^.]+\.uses$/.test(path) || typeof uses !== 'string' || !isModuleRef(uses)) continue
    const p = outsideProblem(allowed, resolve(dirname(sweep.base), uses), 'the stage module')
    if (p) return { refused: p }
  }
  const trialsDir = join(dir, TRIALS_DIR)
  const runDir = trialRunDir(dir, data.trial)
  const confined = confinementProblem(dir, trialsDir, runDir, trialPidFile(runDir))
  if (confined) return { refused: confined }
  const cwd = existsSync(served.start.cwd) && statSync(served.start.cwd).isDirectory() ? served.start.cwd : dir
  // Built here, as the coordinator builds it: the same function, from the values checked above.
  const pipeline = await Effect.runPromise(Effect.either(trialPipeline(sweep, data.assignment, { env: trialEnv(), cwd })))
  // Always continued: a run folder another attempt of this job started is resumed, not overwritten.
  const spec: TrialSpec = { sweep: sweep.name, trial: data.trial, assignment: data.assignment, pipeline, sets: sweep.sets, runDir, resume: true }
  return { data, spec, cwd }
}
