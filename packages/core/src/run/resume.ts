// `lorapipe run --resume DIR` continues the run that was started in DIR: the pipeline comes from
// the folder's own config.resolved.yaml (never the pipeline file as it is now, which may have
// been edited or deleted), its relative paths from the pipeline's folder as recorded, and the
// custom stage modules must be the code the run started with (their sha256 is in run.json).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as Data from 'effect/Data'
import { UserFileError } from '../fs/user-file.ts'
import type { LoadOptions } from '../pipeline/load.ts'
import { RESOLVED_CONFIG, runStarted, sha256Of, type RunRecord } from './folder.ts'

/** The run in a folder cannot be continued as it was started. */
export class ResumeRefused extends Data.TaggedError('ResumeRefused')<{ readonly dir: string; readonly problems: readonly string[]; readonly hint: string }> {
  override get message(): string {
    return `cannot resume the run in ${this.dir}: ${this.problems.join('; ')}`
  }
}

/**
 * The file and load options that give back the pipeline of the run in `runDir`. A run that has
 * not started yet names the pipeline file it was made from, as its first start would have.
 */
export function resumeSource(runDir: string, rec: RunRecord): { file: string; options: LoadOptions } | ResumeRefused {
  const file = join(runDir, RESOLVED_CONFIG)
  if (!existsSync(file)) return new ResumeRefused({ dir: runDir, problems: [`${file} is missing`], hint: 'the folder is damaged; start a new run' })
  return { file, options: { resolvedFrom: { dir: rec.dir ?? dirname(rec.file), ...(runStarted(runDir) ? {} : { file: rec.file }) } } }
}

/** Refuses when a custom stage's module is not the code the run started with. */
export function checkStageCode(runDir: string, rec: RunRecord): ResumeRefused | undefined {
  const problems: string[] = []
  for (const c of rec.code ?? []) {
    let now: string
    try {
      now = sha256Of(c.path)
    } catch (e) {
      if (!(e instanceof UserFileError)) throw e
      problems.push(e.problem === 'not found' ? `stage \`${c.stage}\`: its module ${c.path} is gone` : `stage \`${c.stage}\`: its module ${e.message}`)
      continue
    }
    if (now !== c.sha256) problems.push(`stage \`${c.stage}\`: its module ${c.path} has changed since the run started (sha256 ${c.sha256.slice(0, 12)}… then, ${now.slice(0, 12)}… now)`)
  }
  if (problems.length === 0) return undefined
  return new ResumeRefused({
    dir: runDir,
    problems,
    hint: 'a resumed run goes on with the code it started with: put the module back as it was, or start a new run with `lorapipe run <pipeline.yaml> --out <new folder>`',
  })
}
