// The run folder: `output.dir`, or `runs/<name>/<timestamp>` under the current folder. A stage is
// complete exactly when its `stage.json` exists (written atomically, last), so a killed run never
// leaves a stage that looks finished.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import type { ValidatedPipeline } from '../pipeline/types.ts'
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic.ts'

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

/** What a run folder records about how it was started, so it can be understood (and resumed). */
export interface RunRecord {
  readonly pipeline: string
  readonly file: string
  readonly sets: readonly string[]
  readonly cwd: string
  readonly startedAt: string
}

export function prepareRunDir(p: ValidatedPipeline, runDir: string, sets: readonly string[]): void {
  mkdirSync(runDir, { recursive: true })
  writeFileAtomic(join(runDir, 'config.resolved.yaml'), `# ${p.name}: resolved from ${p.file}${sets.length ? ` with ${sets.map((s) => `--set ${s}`).join(' ')}` : ''}\n` + stringify(p.resolved))
  const rec: RunRecord = { pipeline: p.name, file: p.file, sets, cwd: process.cwd(), startedAt: new Date().toISOString() }
  writeJsonAtomic(join(runDir, 'run.json'), rec)
}

/** The record of the run in `dir`, for `lorapipe run --resume DIR`; an error text when there is none. */
export function readRunRecord(dir: string): RunRecord | { error: string } {
  const f = join(dir, 'run.json')
  if (!existsSync(f)) return { error: `${dir} is not a run folder (no run.json); pass the folder that \`lorapipe run\` printed` }
  try {
    const rec = JSON.parse(readFileSync(f, 'utf8')) as RunRecord
    if (typeof rec.file !== 'string' || !Array.isArray(rec.sets)) return { error: `${f} is damaged (no pipeline file recorded)` }
    return rec
  } catch (e) {
    return { error: `${f} is not valid JSON: ${(e as Error).message}` }
  }
}
