// The one preflight: the checks `run` makes before it writes anything, shared with `validate` so
// that a pipeline `validate` calls valid does not then fail `run` with exit 2: the backend and BLAS
// library asked for, local files, model, tokenizer and adapter folders, data columns, labels
// against num_labels, LoRA targets against the model's modules, and a sweep stage's sweep file with
// every trial pipeline it makes. Two entries: `preflight` for a pipeline, `loadCheckedSweep` for a
// sweep file (`lorapipe sweep`, `validate <sweep file>`, a sweep stage), which puts the sweep's base
// pipeline, and each trial pipeline a file-naming parameter value makes, through `preflight`. What
// each stage reads is its entry's check in the registry (stages/registry.ts).
import { resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import { findStageRefs, placeOf, type Diagnostic, type StageNode, type ValidatedPipeline } from '@lorapipe/core'
import type { SweepLoadOptions } from '@lorapipe/core/sweep/file/load.ts'
import type { SweepInvalid, ValidatedSweep } from '@lorapipe/core/sweep/file/types.ts'
import { builtinStages } from '../stages/registry.ts'
import { checkContext, preflightRuntime, type StageInputs } from './inputs.ts'

export interface Preflight {
  readonly diagnostics: readonly Diagnostic[]
  /** What needs a download to check, in words (checked when the run fetches it). */
  readonly unchecked: readonly string[]
}

export interface PreflightOptions {
  /** The environment the run would have (LORAPIPE_BACKEND, LORAPIPE_BLAS, LORAPIPE_THREADS); default process.env. */
  readonly env?: Record<string, string | undefined>
  /** Sweep files being checked already, further out: a sweep whose trials hold a sweep stage of the same file is checked once. */
  readonly within?: ReadonlySet<string>
}

/** A pipeline: its backend and BLAS, then what each built-in stage reads, as diagnostics at the pipeline's places. */
export async function preflight(p: ValidatedPipeline, opts: PreflightOptions = {}): Promise<Preflight> {
  const env = opts.env ?? process.env
  const within = opts.within ?? new Set()
  const diagnostics = runtimeDiagnostics(p, env)
  const unchecked: string[] = []
  const checkSweep = (file: string, sets: readonly string[]) => sweepFileDiagnostics(file, sets, env, within)
  for (const node of p.stages.values()) {
    const stage = builtinStages.get(node.uses)
    // Parameters that come from another stage's outputs exist only once that stage has run.
    if (!stage || findStageRefs(node.params).length > 0) continue
    const found = placeStageInputs(p, node, await stage.check(node.params as Record<string, unknown>, checkContext(p.dir, p.seed, checkSweep)))
    diagnostics.push(...found.diagnostics)
    unchecked.push(...found.unchecked)
  }
  return { diagnostics, unchecked }
}

/**
 * `loadSweep` with the preflight's checks of files: the base pipeline's, and those of each trial
 * pipeline that a parameter value naming a file or folder makes (`model.path: {values: [/etc]}` is
 * refused at the `/etc`, quoting the preflight). What `lorapipe sweep`, `validate <sweep file>` and
 * a `uses: sweep` stage's preflight load a sweep with.
 */
export function loadCheckedSweep(file: string, opts: SweepLoadOptions & PreflightOptions = {}): Effect.Effect<ValidatedSweep, SweepInvalid> {
  const abs = resolve(file)
  const within = new Set([...(opts.within ?? []), abs])
  return Effect.flatMap(
    Effect.promise(() => import('@lorapipe/core/sweep/file/load.ts')),
    ({ loadSweep }) => loadSweep(abs, { ...opts, checkFiles: async (p) => (await preflight(p, { ...(opts.env ? { env: opts.env } : {}), within })).diagnostics }),
  )
}

/** The backend and BLAS, once for the pipeline, when a stage starts a backend. */
function runtimeDiagnostics(p: ValidatedPipeline, env: Record<string, string | undefined>): Diagnostic[] {
  if (![...p.stages.values()].some((n) => builtinStages.get(n.uses)?.startsBackend)) return []
  return preflightRuntime(p.runtime, env).map((r) => {
    const key = r.setting.startsWith('runtime.') ? r.setting.slice('runtime.'.length) : undefined
    const place = key && p.places ? placeOf(p.places, `/runtime/${key}`)?.value : undefined
    return {
      // A variable from the environment is named as `NAME=value`, as a `--set` argument is.
      ...(key ? (place ? { location: place } : {}) : { location: { file: `${r.setting}=${r.value}`, line: 0, column: 0 } }),
      ...(key ? { pointer: `/runtime/${key}` } : {}),
      message: r.message,
      hint: r.hint,
    }
  })
}

/** A stage's findings as the pipeline's diagnostics: each problem at its key's place, named for its stage. */
function placeStageInputs(p: ValidatedPipeline, node: StageNode, found: StageInputs): Preflight {
  const who = p.shortForm ? '' : `stage \`${node.id}\`: `
  const diagnostics: Diagnostic[] = found.problems.map((problem) => {
    // A value given with --set is placed at that argument, one from the file at its line.
    const place = problem.pointer !== undefined && node.places ? placeOf(node.places, problem.pointer)?.value : undefined
    return {
      ...(place ?? node.location ? { location: place ?? node.location } : {}),
      ...(problem.pointer !== undefined ? { pointer: p.shortForm ? problem.pointer : `/stages/${node.id}/with${problem.pointer}` } : {}),
      message: who + problem.message,
      ...(problem.hint ? { hint: problem.hint } : {}),
    }
  })
  diagnostics.push(...(found.elsewhere ?? []).map((d) => ({ ...d, message: who + d.message })))
  return { diagnostics, unchecked: found.unchecked.map((u) => who + u) }
}

/** What `lorapipe sweep` would refuse in a sweep stage's file (diagnostics at the sweep file's lines). */
async function sweepFileDiagnostics(file: string, sets: readonly string[], env: Record<string, string | undefined>, within: ReadonlySet<string>): Promise<readonly Diagnostic[]> {
  // A sweep whose trials run this same sweep again is checked once, further out.
  if (within.has(file)) return []
  const r = await Effect.runPromise(Effect.either(loadCheckedSweep(file, { sets, env, within })))
  return r._tag === 'Left' ? r.left.diagnostics : []
}
