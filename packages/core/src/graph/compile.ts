// The execution graph of a validated pipeline: a topological order (file order among ready
// stages) and the waves of stages that can run at the same time.
import type { StageNode, ValidatedPipeline } from '../pipeline/types.ts'

export interface ExecutionGraph {
  readonly nodes: ReadonlyMap<string, StageNode>
  /** Every stage after all of its needs; ties keep file order. */
  readonly order: readonly string[]
  /** Stages grouped by depth: each wave needs only earlier waves. */
  readonly waves: readonly (readonly string[])[]
  /** Stages that need each stage (reverse edges). */
  readonly dependents: ReadonlyMap<string, readonly string[]>
}

export function compileGraph(p: ValidatedPipeline): ExecutionGraph {
  const nodes = p.stages
  const depth = new Map<string, number>()
  const depthOf = (id: string): number => {
    const known = depth.get(id)
    if (known !== undefined) return known
    // Validation has rejected cycles, so this recursion terminates.
    const d = Math.max(-1, ...(nodes.get(id)?.needs ?? []).map(depthOf)) + 1
    depth.set(id, d)
    return d
  }
  const ids = [...nodes.keys()]
  ids.forEach(depthOf)
  const waves: string[][] = []
  for (const id of ids) (waves[depth.get(id)!] ??= []).push(id)
  const dependents = new Map<string, string[]>(ids.map((id) => [id, []]))
  for (const n of nodes.values()) for (const need of n.needs) dependents.get(need)?.push(n.id)
  return { nodes, order: waves.flat(), waves, dependents }
}
