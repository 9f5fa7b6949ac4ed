// The built-in stage `uses: sweep`: runs a sweep file with the local executor, its sweep folder
// being the stage's folder, and hands later stages the best trial (`best`: its best.yaml, `best_trial_dir`:
// its run folder, `best_value`) and the leaderboard. With `refit`, it then runs best.yaml once more
// with the given overrides (e.g. more epochs) into `best_run/`, so that a pipeline can sweep, train
// the winner longer and evaluate it. Provided by the CLI, which owns the child-process executor.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as Cause from 'effect/Cause'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Option from 'effect/Option'
import { formatDiagnostics, now, type StageContext, type StageOutputs, type SweepEvent, type ValidatedPipeline } from '@lorapipe/core'
import { readStageRecord, stageDir } from '@lorapipe/core/run/folder.ts'
import type { SweepParams } from '@lorapipe/core/stage/builtins.ts'
import { loadSweep } from '@lorapipe/core/sweep/file/load.ts'
import { runSweep, SweepFolderBusy } from '@lorapipe/core/sweep/coordinator/coordinator.ts'
import { storageFailure, SweepFolderUnwritable } from '@lorapipe/core/sweep/coordinator/unwritable.ts'
import { LEADERBOARD_JSON } from '@lorapipe/core/sweep/coordinator/leaderboard.ts'
import { counts, foldSweep, initialSweepView } from '@lorapipe/core/views/sweep.ts'
import { assignmentText, trialLabel } from '../output/sweep-plain.ts'
import { num } from '../output/format.ts'
import { fileHash, holdsSweep, readSweepStart, startSweepFolder, sweepEventsFile, writeSweepReportIfAvailable } from './folder.ts'
import { acceptRecipeChange, addedInputs, changedInputs, recipeChangedMessage, sweepInputs, UNKNOWN_INPUTS_NOTE } from './inputs.ts'
import { localExecutorLayer, localTrialRunner } from './local-executor.ts'
import { sweepPlan } from './plan.ts'

/** The sweep's progress as this stage's events: a line per trial start and end, trials done as progress. */
function stageSink(ctx: StageContext, total: number | undefined) {
  let view = initialSweepView()
  return (e: SweepEvent) => {
    view = foldSweep([e], view)
    const metric = view.metric?.name ?? 'objective'
    const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => ctx.emitSync({ _tag: 'Log', level, message })
    switch (e._tag) {
      case 'SweepStarted':
        return log(`sweep ${e.sweep}${e.resumed ? ' (resumed)' : ''}: ${e.method}, ${e.metric.goal} ${e.metric.name}, ${e.concurrency} at a time -> ${e.sweepDir}`)
      case 'TrialStarted':
        return log(`${trialLabel(e.trial)} ${e.resumed ? 'resumed' : 'started'}: ${assignmentText(e.assignment)}`)
      case 'TrialFinished':
        if (total !== undefined) ctx.emitSync({ _tag: 'Progress', step: counts(view).finished, totalSteps: total })
        return log(`${trialLabel(e.trial)} ${e.state}${e.value !== undefined ? `: ${metric} ${num(e.value)}` : ''}${e.state !== 'completed' && e.reason ? ` (${e.reason.split('\n')[0]})` : ''}`, e.state === 'failed' ? 'warn' : 'info')
      case 'SweepLog':
        return log(e.message, e.level)
      case 'SweepFinished':
        return log(`sweep ${e.status}: ${e.reason}`)
      default:
        return
    }
  }
}

/** The sweep ended without writing anything more: its folder was another process's, or could not be written. */
const wroteNothing = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), (e) => e instanceof SweepFolderBusy || e instanceof SweepFolderUnwritable)

/** A write that failed for want of room (or permission) as SweepFolderUnwritable; anything else as it is. */
function unwritableOr(e: unknown, dir: string, saved: string, next?: string): Error {
  const f = storageFailure(e)
  return f ? new SweepFolderUnwritable({ dir, path: f.path ?? dir, errno: f.code, saved, ...(next ? { next } : {}) }) : (e as Error)
}

export const sweepStage = (params: SweepParams, ctx: StageContext): Effect.Effect<StageOutputs, Error> =>
  Effect.gen(function* () {
    const dir = ctx.dir
    // A resumed pipeline run continues the sweep in this stage's folder.
    const resuming = holdsSweep(dir)
    const file = ctx.resolvePath(params.sweep)
    const sets = params.set ?? []
    if (resuming) {
      const read = readSweepStart(dir)
      if ('error' in read) return yield* Effect.fail(new Error(read.error))
      // `lorapipe run --resume --accept-changes` records an accepted change before the stage runs;
      // here, a changed recipe is one nobody accepted.
      if (read.inputs === undefined) yield* ctx.log(UNKNOWN_INPUTS_NOTE.replace(/^note: /, '').trim(), 'warn')
      const changes = read.inputs ? changedInputs(read.inputs, read.file) : []
      if (changes.length > 0) {
        const r = recipeChangedMessage(dir, changes, `resume the run with \`lorapipe run --resume ${ctx.runDir} --accept-changes\``)
        return yield* Effect.fail(new Error(`${r.message}\n  hint: ${r.hint}`))
      }
    }
    const loaded = yield* Effect.either(loadSweep(file, { sets }))
    if (loaded._tag === 'Left') return yield* Effect.fail(new Error(`the sweep file is invalid:\n${formatDiagnostics(loaded.left.diagnostics)}`))
    const sweep = loaded.right
    const concurrency = params.concurrency ?? sweep.concurrency ?? 1
    if (!resuming) {
      const start = { sweep: sweep.name, file: sweep.file, sha256: fileHash(sweep.file), sets, cwd: process.cwd(), concurrency, startedAt: now(), inputs: sweepInputs(sweep) }
      yield* Effect.try({ try: () => startSweepFolder(dir, sweep, start), catch: (e) => unwritableOr(e, dir, 'Nothing was run, and the folder was left as it was.') })
    }
    const total = sweep.runCap !== undefined && sweep.gridSize !== undefined ? Math.min(sweep.runCap, sweep.gridSize) : (sweep.runCap ?? sweep.gridSize)
    const result = yield* runSweep(sweepPlan(sweep, dir, concurrency, [sweepEventsFile(dir), stageSink(ctx, total)])).pipe(
      Effect.provide(localExecutorLayer({ concurrency })),
      // The sweep's report also after a failure or an interruption (as far as it can be written),
      // but not into a folder that another process holds or that could not be written just now.
      Effect.onExit((exit) => (Exit.isSuccess(exit) || wroteNothing(exit) ? Effect.void : Effect.promise(() => writeSweepReportIfAvailable(dir).catch(() => undefined)))),
    )
    yield* Effect.tryPromise({
      try: () => writeSweepReportIfAvailable(dir),
      catch: (e) => unwritableOr(e, dir, `The sweep ${result.status}; its record, leaderboard and best.yaml are saved, only its report is not.`, `\`lorapipe report ${dir}\` writes it`),
    })
    if (result.status === 'failed' || result.status === 'interrupted') return yield* Effect.fail(new Error(`the sweep ${result.status}: ${result.reason}`))
    if (!result.best || !result.bestFile) return yield* Effect.fail(new Error(`the sweep ended without a best trial whose pipeline validates: ${result.reason}`))

    let bestRun: string | null = null
    if (params.refit) {
      const runDir = join(dir, 'best_run')
      yield* ctx.log(`refit: running best.yaml (trial ${result.best.trial})${params.refit.set?.length ? ` with ${params.refit.set.map((s) => `--set ${s}`).join(' ')}` : ''} -> ${runDir}`)
      const outcome = yield* localTrialRunner({ concurrency: 1 }).run(
        { sweep: sweep.name, trial: -1, assignment: result.best.assignment, pipeline: { file: result.bestFile, sets: [...(params.refit.set ?? [])] }, runDir, resume: existsSync(join(runDir, 'run.json')) },
        // Its training progress and evaluations show as this stage's.
        (e) => {
          if (e._tag === 'Progress' || e._tag === 'TrainLog' || e._tag === 'EvalMetrics' || e._tag === 'Log') {
            const { time: _t, stage: _s, ...ev } = e
            ctx.emitSync(ev)
          }
        },
      )
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
    const read = readSweepStart(dir, { acceptChanges: accept })
    if ('error' in read) return { message: `stage \`${node.id}\`: ${read.error}` }
    const changes = read.inputs ? changedInputs(read.inputs, read.file) : []
    if (changes.length === 0 || !read.inputs) continue
    if (!accept) {
      const r = recipeChangedMessage(dir, changes, `pass --accept-changes (\`lorapipe run --resume ${runDir} --accept-changes\`)`)
      return { message: `stage \`${node.id}\`: ${r.message}`, hint: r.hint }
    }
    const loaded = await Effect.runPromise(Effect.either(loadSweep(read.file, { sets: read.sets })))
    if (loaded._tag === 'Left') return { message: `stage \`${node.id}\`: the sweep file is invalid:\n${formatDiagnostics(loaded.left.diagnostics)}` }
    const inputs = sweepInputs(loaded.right)
    const done = acceptRecipeChange(dir, read, inputs, [...changes, ...addedInputs(read.inputs, inputs)])
    if (done instanceof SweepFolderBusy) return { message: `stage \`${node.id}\`: ${done.message}`, hint: done.hint }
  }
  return undefined
}
