// Grid search: every combination of the parameters' values exactly once, as the cartesian product
// in parameter order (the last parameter changes fastest, as itertools.product and W&B's grid).
// A repeated value is one value, so it never makes a duplicate trial. Only finite domains form a
// grid: `value`, `values` / categorical and `together`; a real or integer distribution is refused
// by the sweep file loader through `gridAccepts`.
import type { Assignment, ParameterDomain, Sampler, SearchSpace, TrialView } from '../model.ts'
import { configurationKey } from './configuration.ts'
import { resolveDomain } from './domain.ts'

/** A parameter whose domain has no finite list of values, so no grid. */
export class GridDomainUnsupported extends Error {
  readonly _tag = 'GridDomainUnsupported'
  constructor(
    readonly parameter: string,
    readonly domainKind: ParameterDomain['kind'],
  ) {
    super(
      `grid search needs a list of values for ${parameter}, but it has a ${domainKind === 'int' ? 'whole-number' : 'real'} distribution; ` +
        `give "values: [...]", or use method: random, tpe or gp`,
    )
  }
}

/** Whether grid search can take this domain (a finite list: constant, categorical, together). */
export function gridAccepts(domain: ParameterDomain): boolean {
  return domain.kind === 'constant' || domain.kind === 'categorical' || domain.kind === 'together'
}

/** The distinct assignment values of one grid axis, in the order given. */
export function gridValues(name: string, domain: ParameterDomain): readonly unknown[] {
  if (!gridAccepts(domain)) throw new GridDomainUnsupported(name, domain.kind)
  const d = resolveDomain(name, domain)
  if (d.kind === 'fixed') return [d.value]
  if (d.kind === 'choice') return d.values
  throw new GridDomainUnsupported(name, domain.kind)
}

/** How many trials the grid has: the product of each parameter's distinct values. */
export function gridSize(space: SearchSpace): number {
  return Number(gridCount(space))
}

/** The grid's size exactly: a few long lists of values make more combinations than a number holds exactly (2^53). */
export function gridCount(space: SearchSpace): bigint {
  return space.reduce((n, p) => n * BigInt(gridValues(p.name, p.domain).length), 1n)
}

/** Every grid point, in order (a generator: the grid may be large and only its head is needed). */
export function* gridPoints(space: SearchSpace): Generator<Assignment> {
  const axes = space.map((p) => gridValues(p.name, p.domain))
  if (axes.some((a) => a.length === 0)) return
  const digits = axes.map(() => 0)
  for (;;) {
    const point: Record<string, unknown> = {}
    space.forEach((p, i) => (point[p.name] = axes[i]![digits[i]!]))
    yield point
    let i = axes.length - 1
    while (i >= 0 && ++digits[i]! === axes[i]!.length) digits[i--] = 0
    if (i < 0) return
  }
}

/** The first grid point no trial has taken (in any state: a failed point is not retried). */
export function gridSampler(): Sampler {
  return {
    name: 'grid',
    next(space: SearchSpace, history: readonly TrialView[]): Assignment | undefined {
      const taken = new Set(history.map((t) => configurationKey(space, t.assignment)))
      for (const point of gridPoints(space)) {
        if (!taken.has(configurationKey(space, point))) return point
      }
      return undefined
    },
  }
}
