// The checks `run` makes before it writes anything, shared with `validate` so that a pipeline
// `validate` calls valid does not then fail `run` with exit 2: local files, model folders, data
// columns, labels against num_labels, LoRA targets against the model's modules, and a sweep
// stage's sweep file with every trial pipeline it makes.
import { resolve } from 'node:path'
import { findStageRefs, placeOf, type Diagnostic, type ValidatedPipeline } from '@lorapipe/core'

export interface Preflight {
  readonly diagnostics: readonly Diagnostic[]
  /** What needs a download to check, in words (checked when the run fetches it). */
  readonly unchecked: readonly string[]
}

export async function preflight(p: ValidatedPipeline): Promise<Preflight> {
  const { preflightStage } = await import('@lorapipe/runner/stages/preflight.ts')
  const diagnostics: Diagnostic[] = []
  const unchecked: string[] = []
  for (const node of p.stages.values()) {
    // Parameters that come from another stage's outputs exist only once that stage has run.
    if (findStageRefs(node.params).length > 0) continue
    if (node.uses === 'sweep') {
      diagnostics.push(...(await sweepFileProblems(node.params as Record<string, unknown>, p.dir, p.shortForm ? '' : `stage \`${node.id}\`: `)))
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

/** What `lorapipe sweep` would refuse in a sweep stage's file (diagnostics at the sweep file's lines). */
async function sweepFileProblems(params: Record<string, unknown>, dir: string, who: string): Promise<Diagnostic[]> {
  const [{ loadSweep }, Effect] = await Promise.all([import('@lorapipe/core/sweep/file/load.ts'), import('effect/Effect')])
  const r = await Effect.runPromise(Effect.either(loadSweep(resolve(dir, String(params.sweep)), { sets: (params.set as string[] | undefined) ?? [] })))
  return r._tag === 'Left' ? r.left.diagnostics.map((d) => ({ ...d, message: who + d.message })) : []
}
