// Before any trial starts, the pipelines the search can produce are loaded and validated like any
// pipeline. Each value of each parameter is tried on the base alone: every choice of a list, every
// bundle, and both ends of a range (for random and TPE that is the space's bounds). A grid of at
// most GRID_CHECK_LIMIT combinations then has every combination loaded too, since values can be
// valid alone and not together (`trainer.warmup_steps` beyond `trainer.max_steps`); a larger grid
// is checked value by value only, and a bad combination fails its own trial. Each problem points at
// the value in the sweep file and quotes the pipeline's own error. A value that names a file or
// folder (`model.path: {values: [/etc, ./model]}`) is also put through the checks `run` makes of a
// pipeline's files before it writes anything (`checkFiles`, given by the CLI), once per distinct
// value, so that a trial does not fail for it later; other values (a learning rate) are not, as
// they change no file.
import * as Effect from 'effect/Effect'
import { type Diagnostic, type Location, formatLocation, pointerToPath } from '../../diagnostics.ts'
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import { placeOf, type SourceMap } from '../../source/document.ts'
import type { Assignment, Parameter, SearchMethod } from '../model.ts'
import { canonicalKey } from '../samplers/configuration.ts'
import { resolveDomain } from '../samplers/domain.ts'
import { gridPoints } from '../samplers/grid.ts'
import { type ParameterEntry, parameterPointer } from './parameters.ts'
import { GRID_CHECK_LIMIT } from './schema.ts'
import { setsFilePath, trialPipeline, type TrialSource } from '../trial.ts'

interface Probe {
  readonly parameter: Parameter
  readonly value: unknown
  /** Where the value is written in the sweep file. */
  readonly pointer: string
}

/** Most bad grid combinations listed; the rest are counted. */
const MAX_COMBINATION_ERRORS = 5

export function preflight(
  source: TrialSource,
  entries: readonly ParameterEntry[],
  map: SourceMap,
  method: SearchMethod,
  gridSize: number | undefined,
  env: Record<string, string | undefined> | undefined,
  files?: { readonly check: (pipeline: ValidatedPipeline) => Promise<readonly Diagnostic[]>; readonly ofBase: readonly Diagnostic[] },
): Effect.Effect<Diagnostic[]> {
  return Effect.gen(function* () {
    const ds: Diagnostic[] = []
    const seen = new Set<string>()
    const add = (d: Diagnostic) => {
      const key = `${d.location ? formatLocation(d.location) : ''}|${d.message}`
      if (!seen.has(key)) (seen.add(key), ds.push(d))
    }
    const tryLoad = (space: readonly Parameter[], assignment: Assignment) => Effect.either(trialPipeline({ ...source, space }, assignment, env ? { env } : {}))

    for (const probe of entries.flatMap(probesOf)) {
      const { parameter: p, value } = probe
      const r = yield* tryLoad([p], { [p.name]: value })
      const at = placeOf(map, probe.pointer)?.value
      const what = p.domain.kind === 'together' ? `\`${p.name}\` bundle ${show(p.domain.bundles[value as number])}` : `\`${p.name}\` = ${show(value)}`
      if (r._tag === 'Left') {
        for (const d of r.left.diagnostics) add(inner(d, `${what} makes an invalid pipeline`, at, probe.pointer))
        continue
      }
      if (!files || !setsFilePath(source, p, value)) continue
      // What the base has wrong already is reported once, for the base.
      const known = new Set(files.ofBase.map((d) => d.message))
      const found = yield* Effect.promise(() => files.check(r.right))
      for (const d of found) if (!known.has(d.message)) add(inner(d, `${what} makes a pipeline that cannot run`, at, probe.pointer))
    }

    if (ds.length > 0 || method !== 'grid' || gridSize === undefined || gridSize > GRID_CHECK_LIMIT) return ds
    // With one parameter, its values were each loaded above.
    if (entries.length < 2) return ds
    const space = source.space
    let bad = 0
    for (const point of gridPoints(space)) {
      const r = yield* tryLoad(space, point)
      if (r._tag === 'Right') continue
      bad++
      if (bad > MAX_COMBINATION_ERRORS) continue
      const combo = space.filter((p) => p.domain.kind !== 'constant').map((p) => (p.domain.kind === 'together' ? `\`${p.name}\` bundle ${show(p.domain.bundles[point[p.name] as number])}` : `\`${p.name}\` = ${show(point[p.name])}`))
      for (const d of r.left.diagnostics) add(inner(d, `the combination ${combo.join(', ')} makes an invalid pipeline`, placeOf(map, '/parameters')?.key, '/parameters'))
    }
    if (bad > MAX_COMBINATION_ERRORS) {
      ds.push({ location: placeOf(map, '/parameters')?.key, pointer: '/parameters', message: `and ${bad - MAX_COMBINATION_ERRORS} more combinations of the grid make invalid pipelines` })
    }
    return ds
  })
}

/** The values of one parameter worth loading: every distinct choice or bundle, a range's ends. */
function probesOf(e: ParameterEntry): Probe[] {
  const parameter: Parameter = { name: e.name, domain: e.domain }
  const ptr = parameterPointer(e.name)
  const d = e.domain
  switch (d.kind) {
    case 'constant':
      return [{ parameter, value: d.value, pointer: `${ptr}/value` }]
    case 'categorical':
      return distinct(d.choices).map((i) => ({ parameter, value: d.choices[i], pointer: `${ptr}/values/${i}` }))
    case 'together':
      return distinct(d.bundles).map((i) => ({ parameter, value: i, pointer: `${ptr}/together/${i}` }))
    case 'int':
    case 'float': {
      const r = resolveDomain(e.name, d)
      if (r.kind === 'fixed') return [{ parameter, value: r.value, pointer: `${ptr}/min` }]
      if (r.kind !== 'numeric') return []
      return [
        { parameter, value: r.low, pointer: `${ptr}/min` },
        { parameter, value: r.high, pointer: `${ptr}/max` },
      ]
    }
  }
}

/** Indices of the first occurrence of each distinct value. */
function distinct(values: readonly unknown[]): number[] {
  const seen = new Set<string>()
  const out: number[] = []
  values.forEach((v, i) => {
    const k = canonicalKey(v)
    if (!seen.has(k)) (seen.add(k), out.push(i))
  })
  return out
}

/** A trial pipeline's diagnostic, moved to the sweep file's value, keeping its own words. */
function inner(d: Diagnostic, what: string, at: Location | undefined, pointer: string): Diagnostic {
  // A place in a real file (the base, or a file it extends) helps; the trial's own value is ours.
  const where = d.location && d.location.line > 0 ? ` (${formatLocation(d.location)})` : ''
  const field = d.pointer ? pointerToPath(d.pointer) : undefined
  const path = field && !d.message.includes(field) ? ` (at \`${field}\`)` : ''
  return { location: at, pointer, message: `${what}: ${d.message}${path}${where}`, ...(d.hint ? { hint: d.hint } : {}) }
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}
