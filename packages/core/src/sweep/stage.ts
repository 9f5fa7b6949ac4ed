// The built-in stage `uses: sweep`: runs a sweep file with the local executor, its sweep folder
// being the stage's folder, and hands later stages the best trial (`best`: its best.yaml, `best_trial_dir`:
// its run folder, `best_value`) and the leaderboard. With `refit`, it then runs best.yaml once more
// with the given overrides (e.g. more epochs) into `best_run/`, so that a pipeline can sweep, train
// the winner longer and evaluate it. What only the command line has (the launcher that runs
// trials, the preflight of their files, how the sweep shows as the stage's log, the report) is given.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as Effect from 'effect/Effect'
import * as Either from 'effect/Either'
import * as Exit from 'effect/Exit'
import * as Option from 'effect/Option'
import { formatDiagnostics } from '../diagnostics.ts'
import { now } from '../events.ts'
import { loadPipeline } from '../pipeline/load.ts'
import type { ValidatedPipeline } from '../pipeline/types.ts'
import { readStageRecord, stageDir } from '../run/folder.ts'
import type { StageContext } from '../stage/context.ts'
import type { SweepParams } from '../stage/builtins.ts'
import type { StageOutputs } from '../stage/spec.ts'
import { SweepStageHost } from './host.ts'
import { runSweep, SweepFolderBusy } from './coordinator/coordinator.ts'
import { storageFailure, SweepFolderUnwritable } from './coordinator/unwritable.ts'
import { localExecutorLayer, localTrialRunner } from './executors/local.ts'
import { loadSweep } from './file/load.ts'
import { fileHash, sweepEventsFile } from './folder/files.ts'
import { UNKNOWN_INPUTS_NOTE } from './folder/inputs.ts'
import { holdsSweep, LEADERBOARD_JSON } from './folder/layout.ts'
import { acceptChanges, createSweepFolder, resumable, wroteNothing } from './folder/open.ts'
import { sweepPlan } from './plan.ts'

/** A write that failed for want of room (or permission) as SweepFolderUnwritable; anything else as it is. */
function unwritableOr(e: unknown, dir: string, saved: string, next?: string): Error {
  const f = storageFailure(e)
  return f ? new SweepFolderUnwritable({ dir, path: f.path ?? dir, errno: f.code, saved, ...(next ? { next } : {}) }) : (e as Error)
}

export const sweepStage = (params: SweepParams, ctx: StageContext): Effect.Effect<StageOutputs, Error> =>
  Effect.gen(function* () {
    const host = yield* Effect.serviceOption(SweepStageHost)
    if (Option.isNone(host)) return yield* Effect.fail(new Error('the sweep stage runs only under `lorapipe run`, which runs its trials'))
    const deps = host.value
    const dir = ctx.dir
    // A resumed pipeline run continues the sweep in this stage's folder; `lorapipe run --resume
    // --accept-changes` records an accepted change before the stage runs, so a changed recipe here is one nobody accepted.
    const resuming = holdsSweep(dir)
    if (resuming) {
      const r = resumable(dir, { accept: false, acceptHow: `resume the run with \`lorapipe run --resume ${ctx.runDir} --accept-changes\`` })
      if (r instanceof Error) return yield* Effect.fail(new Error(r.hint ? `${r.reason}\n  hint: ${r.hint}` : r.reason))
      if (r.start.inputs === undefined) yield* ctx.log(UNKNOWN_INPUTS_NOTE.replace(/^note: /, '').trim(), 'warn')
    }
    const sets = params.set ?? []
    const loaded = yield* Effect.either(loadSweep(ctx.resolvePath(params.sweep), { sets }))
    if (loaded._tag === 'Left') return yield* Effect.fail(new Error(`the sweep file is invalid:\n${formatDiagnostics(loaded.left.diagnostics)}`))
    const sweep = loaded.right
    const concurrency = params.concurrency ?? sweep.concurrency ?? 1
    if (!resuming) {
      const start = { sweep: sweep.name, file: sweep.file, sha256: fileHash(sweep.file), sets, cwd: process.cwd(), concurrency, startedAt: now() }
      const made = yield* Effect.try({ try: () => createSweepFolder(dir, sweep, start, concurrency), catch: (e) => e as Error })
      if (made instanceof SweepFolderUnwritable) return yield* Effect.fail(made)
    }
    const total = sweep.runCap !== undefined && sweep.gridSize !== undefined ? Math.min(sweep.runCap, sweep.gridSize) : (sweep.runCap ?? sweep.gridSize)
    const report = () => deps.writeReport(dir)
    const result = yield* runSweep(sweepPlan(sweep, dir, concurrency, [sweepEventsFile(dir), deps.progress(ctx, total)])).pipe(
      Effect.provide(localExecutorLayer({ concurrency, entry: deps.entry, ...(deps.checkFiles ? { checkFiles: deps.checkFiles } : {}) })),
      // The sweep's report also after a failure or an interruption (as far as it can be written),
      // but not into a folder that another process holds or that could not be written just now.
      Effect.onExit((exit) => (Exit.isSuccess(exit) || wroteNothing(exit) ? Effect.void : Effect.promise(() => report().catch(() => undefined)))),
    )
    yield* Effect.tryPromise({
      try: report,
      catch: (e) => unwritableOr(e, dir, `The sweep ${result.status}; its record, leaderboard and best.yaml are saved, only its report is not.`, `\`lorapipe report ${dir}\` writes it`),
    })
    if (result.status === 'failed' || result.status === 'interrupted') return yield* Effect.fail(new Error(`the sweep ${result.status}: ${result.reason}`))
    if (!result.best || !result.bestFile) return yield* Effect.fail(new Error(`the sweep ended without a best trial whose pipeline validates: ${result.reason}`))

    let bestRun: string | null = null
    if (params.refit) {
      const runDir = join(dir, 'best_run')
      const refitSets = [...(params.refit.set ?? [])]
      yield* ctx.log(`refit: running best.yaml (trial ${result.best.trial})${refitSets.length ? ` with ${refitSets.map((s) => `--set ${s}`).join(' ')}` : ''} -> ${runDir}`)
      const pipeline = yield* Effect.either(loadPipeline(result.bestFile, { sets: refitSets }))
      const spec = { sweep: sweep.name, trial: -1, assignment: result.best.assignment, pipeline, sets: refitSets, runDir, resume: existsSync(join(runDir, 'run.json')) }
      const outcome = yield* localTrialRunner({ concurrency: 1, entry: deps.entry, ...(deps.checkFiles ? { checkFiles: deps.checkFiles } : {}) }).run(spec, (e) => {
        // Its training progress and evaluations show as this stage's.
        if (e._tag === 'Progress' || e._tag === 'TrainLog' || e._tag === 'EvalMetrics' || e._tag === 'Log') {
          const { time: _t, stage: _s, ...ev } = e
          ctx.emitSync(ev)
        }
      })
      if (outcome.status !== 'succeeded') return yield* Effect.fail(new Error(`refit of the best trial ${outcome.status === 'failed' ? `failed: ${outcome.error}` : 'was interrupted'}`))
      bestRun = runDir
    }
    const out: StageOutputs = {
      best: result.bestFile,
      leaderboard: join(dir, LEADERBOARD_JSON),
      dir,
      best_value: result.best.value,
      best_trial_dir: result.best.runDir,
      best_run: bestRun,
    }
    return out
  })

/**
 * Before `lorapipe run --resume` continues a pipeline: each `uses: sweep` stage that will run
 * again (not finished) and whose folder holds a sweep must find the recipe that sweep started
 * with; with `accept` (`--accept-changes`), a changed recipe is recorded in that sweep instead.
 * Returns why the resume is refused (nothing written), or undefined.
 */
export async function resumeSweepStages(p: ValidatedPipeline, runDir: string, accept: boolean): Promise<{ message: string; hint?: string } | undefined> {
  for (const node of p.stages.values()) {
    if (node.uses !== 'sweep') continue
    const dir = stageDir(p, runDir, node.id)
    if (readStageRecord(dir) || !holdsSweep(dir)) continue
    const r = resumable(dir, { accept, acceptHow: `pass --accept-changes (\`lorapipe run --resume ${runDir} --accept-changes\`)` })
    if (r instanceof Error) return { message: `stage \`${node.id}\`: ${r.reason}`, ...(r.hint ? { hint: r.hint } : {}) }
    if (r.changes.length === 0 || !r.start.inputs) continue
    const loaded = await Effect.runPromise(Effect.either(loadSweep(r.start.file, { sets: r.start.sets })))
    if (Either.isLeft(loaded)) return { message: `stage \`${node.id}\`: the sweep file is invalid:\n${formatDiagnostics(loaded.left.diagnostics)}` }
    const done = acceptChanges(dir, r, loaded.right)
    if (done instanceof SweepFolderBusy) return { message: `stage \`${node.id}\`: ${done.message}`, hint: done.hint }
  }
  return undefined
}
