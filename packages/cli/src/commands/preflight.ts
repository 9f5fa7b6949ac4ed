// The checks `run` makes before it writes anything, shared with `validate` so that a pipeline
// `validate` calls valid does not then fail `run` with exit 2: the backend and BLAS library asked
// for, local files, model, tokenizer and adapter folders, data columns, labels against
// num_labels, LoRA targets against the model's modules, and a sweep stage's sweep file with every
// trial pipeline it makes. `lorapipe sweep` and `validate <sweep file>` put a sweep's base
// pipeline, and each trial pipeline a file-naming parameter value makes, through the same checks
// (loadCheckedSweep).
import { resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import { findStageRefs, placeOf, type Diagnostic, type ValidatedPipeline } from '@lorapipe/core'
import type { SweepLoadOptions } from '@lorapipe/core/sweep/file/load.ts'
import type { SweepInvalid, ValidatedSweep } from '@lorapipe/core/sweep/file/types.ts'

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

export async function preflight(p: ValidatedPipeline, opts: PreflightOptions = {}): Promise<Preflight> {
  const { preflightStage, preflightRuntime, COMPUTE_STAGES } = await import('@lorapipe/runner/stages/preflight.ts')
  const env = opts.env ?? process.env
  const diagnostics: Diagnostic[] = []
  const unchecked: string[] = []
  // The backend and BLAS, once for the pipeline, when a stage starts a backend.
  if ([...p.stages.values()].some((n) => COMPUTE_STAGES.has(n.uses))) {
    for (const r of preflightRuntime(p.runtime, env)) {
      const key = r.setting.startsWith('runtime.') ? r.setting.slice('runtime.'.length) : undefined
      const place = key && p.places ? placeOf(p.places, `/runtime/${key}`)?.value : undefined
      diagnostics.push({
        // A variable from the environment is named as `NAME=value`, as a `--set` argument is.
        ...(key ? (place ? { location: place } : {}) : { location: { file: `${r.setting}=${r.value}`, line: 0, column: 0 } }),
        ...(key ? { pointer: `/runtime/${key}` } : {}),
        message: r.message,
        hint: r.hint,
      })
    }
  }
  for (const node of p.stages.values()) {
    // Parameters that come from another stage's outputs exist only once that stage has run.
    if (findStageRefs(node.params).length > 0) continue
    if (node.uses === 'sweep') {
      diagnostics.push(...(await sweepFileProblems(node.params as Record<string, unknown>, p.dir, p.shortForm ? '' : `stage \`${node.id}\`: `, env, opts.within ?? new Set())))
      continue
    }
    const r = await preflightStage(node.uses, node.params as Record<string, unknown>, p.dir, p.seed)
    const who = p.shortForm ? '' : `stage \`${node.id}\`: `
    for (const problem of r.problems) {
      // A value given with --set is placed at that argument, one from the file at its line.
      const place = problem.pointer !== undefined && node.places ? placeOf(node.places, problem.pointer)?.value : undefined
      diagnostics.push({
        ...(place ?? node.location ? { location: place ?? node.location } : {}),
        ...(problem.pointer !== undefined ? { pointer: p.shortForm ? problem.pointer : `/stages/${node.id}/with${problem.pointer}` } : {}),
        message: who + problem.message,
        ...(problem.hint ? { hint: problem.hint } : {}),
      })
    }
    unchecked.push(...r.unchecked.map((u) => who + u))
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

/** What `lorapipe sweep` would refuse in a sweep stage's file (diagnostics at the sweep file's lines). */
async function sweepFileProblems(params: Record<string, unknown>, dir: string, who: string, env: Record<string, string | undefined>, within: ReadonlySet<string>): Promise<Diagnostic[]> {
  const file = resolve(dir, String(params.sweep))
  // A sweep whose trials run this same sweep again is checked once, further out.
  if (within.has(file)) return []
  const r = await Effect.runPromise(Effect.either(loadCheckedSweep(file, { sets: (params.set as string[] | undefined) ?? [], env, within })))
  return r._tag === 'Left' ? r.left.diagnostics.map((d) => ({ ...d, message: who + d.message })) : []
}
