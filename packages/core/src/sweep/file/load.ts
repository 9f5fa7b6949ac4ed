// From a sweep file name to a ValidatedSweep: read YAML (with positions), validate against the
// sweep schema, read each parameter's domain and bounds, load the base pipeline (with the command
// line's `--set`), check the metric and every parameter path against it, then load trial
// pipelines for the values the search can produce, so that a sweep that would make an invalid
// pipeline is refused before any trial starts. Every problem is reported together.
import * as Effect from 'effect/Effect'
import { basename, dirname, extname, resolve } from 'node:path'
import { type Diagnostic, type Location, sortDiagnostics } from '../../diagnostics.ts'
import { loadPipeline, sourceTextsOf } from '../../pipeline/load.ts'
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import { validateAgainst } from '../../schema/validate.ts'
import { isPlainObject, placeOf, readYamlFile, type SourceMap } from '../../source/document.ts'
import { displayPath } from '../../source/extends.ts'
import type { EarlyTerminate, Goal, Parameter, SearchMethod } from '../model.ts'
import { domainProblem } from '../samplers/domain.ts'
import { gridAccepts, gridCount } from '../samplers/grid.ts'
import { resolveMetric } from './metric.ts'
import { type ParameterEntry, parameterPointer, readParameter } from './parameters.ts'
import { lookupPath } from './paths.ts'
import { preflight } from './preflight.ts'
import { DEFAULT_SEED } from '../../pipeline/sections/seed.ts'
import { DEFAULT_MAX_CONSECUTIVE_FAILURES, DEFAULT_MEDIAN_STARTUP_TRIALS, DEFAULT_REDUCTION_FACTOR, MAX_TRIALS, sweepSchema } from './schema.ts'
import { markValidated, SweepInvalid, type ValidatedSweep, withTexts } from './types.ts'
import { withWandbHint } from './wandb-names.ts'
import { setOverrides, shadowedOverrides } from '../../pipeline/sections/shadowed.ts'

export interface SweepLoadOptions {
  /** `--set key.path=value` arguments for the base pipeline (relative paths from the current folder), applied to every trial. */
  readonly sets?: readonly string[]
  readonly env?: Record<string, string | undefined>
  /**
   * The checks `run` makes of a pipeline's files before it writes anything (the CLI's preflight:
   * they need the runner, which core does not know). Given, the base pipeline is put through them,
   * and so is each trial pipeline made by a parameter value that names a file or folder.
   */
  readonly checkFiles?: (pipeline: ValidatedPipeline) => Promise<readonly Diagnostic[]>
}

let schemaMemo: ReturnType<typeof sweepSchema> | undefined
const schema = () => (schemaMemo ??= sweepSchema())

/**
 * Loads and validates a sweep file: the entry point for `lorapipe sweep` and `lorapipe validate`.
 * Fails with SweepInvalid (exit 2; `formatDiagnostics(e.diagnostics, sweepTextsOf(e))` shows every
 * problem with file:line:column and a code frame) when the file, its base pipeline with `sets`, or
 * any trial pipeline the search can produce is invalid (for grids of up to GRID_CHECK_LIMIT
 * combinations, every combination; otherwise each value of each parameter against the base).
 */
export function loadSweep(file: string, opts: SweepLoadOptions = {}): Effect.Effect<ValidatedSweep, SweepInvalid> {
  return Effect.gen(function* () {
    const abs = resolve(file)
    const shown = displayPath(abs)
    const texts = new Map<string, string>()
    const fail = (ds: Diagnostic[]) => Effect.fail(withTexts(new SweepInvalid({ file: shown, diagnostics: sortDiagnostics(ds) }), texts))
    const parsed = readYamlFile(abs, shown)
    if (parsed.text !== undefined) texts.set(shown, parsed.text)
    if (!parsed.ok) return yield* fail(parsed.diagnostics)
    const { value, map } = parsed.doc
    if (!isPlainObject(value)) {
      return yield* fail([{ location: placeOf(map, '')?.value, message: 'a sweep file must be a YAML map (keys `base`, `method`, `metric`, `parameters`)' }])
    }
    const doc = value
    const ds: Diagnostic[] = validateAgainst(schema(), structuredClone(doc), map).map((d) => withWandbHint(d, doc))
    const broken = (ptr: string) => ds.some((d) => d.pointer === ptr || d.pointer?.startsWith(ptr + '/'))
    const place = (ptr: string): Location | undefined => placeOf(map, ptr)?.value
    const keyPlace = (ptr: string): Location | undefined => placeOf(map, ptr)?.key ?? placeOf(map, ptr)?.value

    // Parameters: each entry on its own, then paths set twice. The paths a parameter sets are known
    // from its name (or its bundles' keys) even when the rest of its entry is wrong, so they are
    // checked in the same pass.
    const entries: ParameterEntry[] = []
    const params = isPlainObject(doc.parameters) ? doc.parameters : {}
    const named = Object.entries(params).map(([name, raw]) => ({ name, paths: pathsOf(name, raw) }))
    for (const [name, raw] of Object.entries(params)) {
      if (!isPlainObject(raw) || broken(parameterPointer(name))) continue
      const r = readParameter(name, raw, map)
      if (!r.ok) {
        ds.push(...r.diagnostics)
        continue
      }
      const problem = domainProblem(r.entry.domain)
      if (problem) ds.push({ location: keyPlace(parameterPointer(name)), pointer: parameterPointer(name), message: `parameter \`${name}\` ${problem}` })
      else entries.push(r.entry)
    }
    ds.push(...overlappingPaths(named, map))

    // At most MAX_TRIALS trials: run_cap (the schema's bound, said with the count and what to do instead).
    const runCapOver = typeof doc.run_cap === 'number' && doc.run_cap > MAX_TRIALS
    if (runCapOver) {
      const i = ds.findIndex((d) => d.pointer === '/run_cap')
      if (i >= 0) ds.splice(i, 1)
      ds.push({
        location: place('/run_cap'),
        pointer: '/run_cap',
        message: `\`run_cap\` is ${writtenNumber(doc.run_cap as number, parsed.text, place('/run_cap'))} trials, more than a sweep may run (${limitText})`,
        hint: `give a \`run_cap\` of at most ${limitText}`,
      })
    }

    const method = doc.method as SearchMethod | undefined
    if (method === 'grid') {
      for (const e of entries) {
        if (gridAccepts(e.domain)) continue
        ds.push({
          location: keyPlace(parameterPointer(e.name)),
          pointer: parameterPointer(e.name),
          message: `a grid needs a list of values, but \`${e.name}\` is a ${e.domain.kind === 'int' ? 'whole-number' : 'real'} range`,
          hint: 'give `values: [...]`, or use `method: random`, `method: tpe` or `method: gp`',
        })
      }
    } else if ((method === 'random' || method === 'tpe' || method === 'gp') && doc.run_cap === undefined) {
      ds.push({ location: keyPlace(''), pointer: '/run_cap', message: `a ${method} sweep needs \`run_cap\` (how many trials to run)`, hint: 'e.g. `run_cap: 20`; the search only stops by itself when a grid is done' })
    }

    // Its own rules are checked beside the schema's errors, leaving out the values the schema refused.
    const earlyTerminate =
      isPlainObject(doc.early_terminate) && !broken('/early_terminate/type') && !ds.some((d) => d.pointer === '/early_terminate')
        ? readEarlyTerminate(doc.early_terminate, map, ds, (k) => broken(`/early_terminate/${k}`))
        : undefined

    // The base pipeline, as every trial starts from it.
    let basePath: string | undefined
    let basePipeline
    if (typeof doc.base === 'string') {
      basePath = resolve(dirname(abs), doc.base)
      const r = yield* Effect.either(loadPipeline(basePath, { sets: opts.sets ?? [], env: opts.env }))
      if (r._tag === 'Left') {
        for (const [k, t] of sourceTextsOf(r.left) ?? []) texts.set(k, t)
        // The base itself could not be read (missing, a folder, a FIFO, too large): said at `base`.
        const unread = r.left.diagnostics.find((d) => d.location?.line === 0 && d.location.file === displayPath(basePath!))
        if (unread?.message === 'file not found') {
          ds.push({ location: place('/base'), pointer: '/base', message: `base pipeline ${doc.base} not found (looked for ${displayPath(basePath)})`, hint: 'the base is relative to the sweep file' })
        } else if (unread) {
          ds.push({ location: place('/base'), pointer: '/base', message: `base pipeline ${doc.base}: ${unread.message}`, ...(unread.hint ? { hint: unread.hint } : {}) })
        } else {
          ds.push({ location: place('/base'), pointer: '/base', message: `the base pipeline ${doc.base} is invalid (${r.left.diagnostics.length} error${r.left.diagnostics.length === 1 ? '' : 's'} below)` })
          ds.push(...r.left.diagnostics)
        }
      } else {
        basePipeline = r.right
        for (const [k, t] of basePipeline.texts) texts.set(k, t)
      }
    }
    // The base's files, as `run` checks them before it writes anything.
    let baseFileProblems: readonly Diagnostic[] = []
    const checkFiles = opts.checkFiles
    if (basePipeline && checkFiles) {
      const base = basePipeline
      baseFileProblems = yield* Effect.promise(() => checkFiles(base))
      ds.push(...baseFileProblems)
    }

    let metric
    if (basePipeline && isPlainObject(doc.metric) && typeof doc.metric.name === 'string' && !broken('/metric/name')) {
      const raw = doc.metric as { name: string; goal?: Goal; target?: number }
      const m = resolveMetric({ name: raw.name, ...(broken('/metric/goal') ? {} : { goal: raw.goal }), ...(broken('/metric/target') ? {} : { target: raw.target }) }, basePipeline)
      if ('message' in m) ds.push({ location: place('/metric/name'), pointer: '/metric/name', message: m.message, ...(m.hint ? { hint: m.hint } : {}) })
      else metric = m
    }

    // Paths against the base (against the pipeline schema when the base could not be loaded), every
    // parameter's, its entry sound or not; values against the base only for sound entries.
    const badPaths = new Set<string>()
    for (const p of named) {
      const together = isPlainObject(params[p.name]) && Array.isArray((params[p.name] as Record<string, unknown>).together)
      for (const path of p.paths) {
        const found = lookupPath(basePipeline, path)
        if (found.ok) continue
        badPaths.add(p.name)
        const ptr = together ? `${parameterPointer(p.name)}/together/0/${path.replace(/~/g, '~0').replace(/\//g, '~1')}` : parameterPointer(p.name)
        ds.push({ location: keyPlace(ptr), pointer: ptr, message: `\`${path}\` is not a path of the base pipeline: ${found.message}`, ...(found.hint ? { hint: found.hint } : {}) })
      }
    }
    const pathsOk = basePipeline ? entries.filter((e) => !badPaths.has(e.name)) : []
    // A grid of more than MAX_TRIALS combinations runs only its first `run_cap`. Counted exactly
    // (a bigint): ten lists of 40 values are 10^16 combinations, past what a number holds exactly.
    const space: Parameter[] = entries.map((e) => ({ name: e.name, domain: e.domain }))
    const count = method === 'grid' && entries.every((e) => gridAccepts(e.domain)) ? gridCount(space) : undefined
    if (count !== undefined && count > BigInt(MAX_TRIALS) && (typeof doc.run_cap !== 'number' || runCapOver)) {
      const sizes = entries.map((e) => String(gridValuesCount(e))).join(' x ')
      ds.push({
        location: keyPlace('/parameters'),
        pointer: '/parameters',
        message: `the grid has ${count.toLocaleString('en-US')} combinations (${sizes}), more than a sweep may run (${limitText})`,
        hint: 'use `method: random`, `tpe` or `gp` with a `run_cap`, give fewer values, or add a `run_cap` to run only the first combinations',
      })
    }

    // Trial pipelines: each value of the parameters whose paths hold, even when other parts of the
    // file are wrong (so all problems show at once). Grid combinations need every parameter sound
    // (a combination is of all of them) and each value valid alone (the preflight checks that
    // first); other problems of the file (the metric, run_cap, early_terminate) do not stop them.
    const complete = method !== undefined && Object.keys(params).length === pathsOk.length && !broken('/parameters')
    const grid = complete && count !== undefined ? Number(count) : undefined
    if (basePipeline && basePath) {
      const source = { dir: dirname(abs), basePipeline, space: complete ? space : pathsOk.map((e) => ({ name: e.name, domain: e.domain })) }
      const files = checkFiles ? { check: checkFiles, ofBase: baseFileProblems } : undefined
      ds.push(...(yield* preflight(source, complete ? entries : pathsOk, map, complete ? method : 'random', grid, opts.env, files)))
    }
    if (ds.length > 0 || !basePipeline || !basePath || !metric || !method) return yield* fail(ds)

    // Settings that would do nothing: a parameter or `--set` that another setting of the base shadows.
    const allPaths = entries.flatMap((e) => e.paths)
    const warnings = [
      ...shadowedOverrides(basePipeline, setOverrides(opts.sets ?? []), allPaths),
      ...shadowedOverrides(
        basePipeline,
        entries.flatMap((e) => e.paths.map((path) => {
          const ptr = e.domain.kind === 'together' ? `${parameterPointer(e.name)}/together/0/${path.replace(/~/g, '~0').replace(/\//g, '~1')}` : parameterPointer(e.name)
          return { path, location: keyPlace(ptr), pointer: ptr, what: `sweep parameter \`${path}\`` }
        })),
        allPaths,
      ),
    ]
    const name = typeof doc.name === 'string' ? doc.name : basename(abs, extname(abs))
    return markValidated({
      name,
      ...(typeof doc.description === 'string' ? { description: doc.description } : {}),
      file: abs,
      dir: dirname(abs),
      base: basePath,
      sets: opts.sets ?? [],
      basePipeline,
      method,
      metric,
      space,
      paths: new Map(entries.map((e) => [e.name, e.paths])),
      ...(typeof doc.run_cap === 'number' ? { runCap: doc.run_cap } : {}),
      ...(grid !== undefined ? { gridSize: grid } : {}),
      seed: typeof doc.seed === 'number' ? doc.seed : DEFAULT_SEED,
      ...(earlyTerminate ? { earlyTerminate } : {}),
      maxConsecutiveFailures: typeof doc.max_consecutive_failures === 'number' ? doc.max_consecutive_failures : DEFAULT_MAX_CONSECUTIVE_FAILURES,
      ...(typeof doc.concurrency === 'number' ? { concurrency: doc.concurrency } : {}),
      document: doc,
      texts,
      warnings,
    })
  })
}

const limitText = `${MAX_TRIALS.toLocaleString('en-US')} trials`

/** Distinct values of one grid axis. */
const gridValuesCount = (e: ParameterEntry) => gridCount([{ name: e.name, domain: e.domain }])

/** A number as the file writes it when it is past 2^53 (the parsed value is rounded there), else as parsed. */
function writtenNumber(n: number, text: string | undefined, at: Location | undefined): string {
  if (Number.isSafeInteger(n) || text === undefined || at === undefined) return n.toLocaleString('en-US')
  const token = /^[-+0-9._eE]+/.exec(text.split('\n')[at.line - 1]?.slice(at.column - 1) ?? '')?.[0]
  return token ?? n.toLocaleString('en-US')
}

/** The pipeline paths a `parameters:` entry sets, read from its name or its bundles' keys, whatever else the entry says. */
function pathsOf(name: string, raw: unknown): string[] {
  if (!isPlainObject(raw) || !Array.isArray(raw.together)) return [name]
  return [...new Set(raw.together.flatMap((b) => (isPlainObject(b) ? Object.keys(b) : [])))]
}

/** A path set by two parameters, or inside another parameter's path, is ambiguous. */
function overlappingPaths(entries: readonly { readonly name: string; readonly paths: readonly string[] }[], map: SourceMap): Diagnostic[] {
  const ds: Diagnostic[] = []
  const owner = new Map<string, string>()
  for (const e of entries) {
    for (const path of e.paths) {
      for (const [other, by] of owner) {
        const clash = other === path ? 'is also set by' : path.startsWith(other + '.') ? `is inside \`${other}\`, set by` : other.startsWith(path + '.') ? `contains \`${other}\`, set by` : undefined
        if (!clash) continue
        const ptr = parameterPointer(e.name)
        ds.push({
          location: placeOf(map, ptr)?.key,
          pointer: ptr,
          message: `\`${path}\` ${clash} parameter \`${by}\``,
          hint: 'each pipeline path may be set by one parameter; put values that change together in one `together` bundle',
        })
      }
      owner.set(path, e.name)
    }
  }
  return ds
}

/** `early_terminate` -> the pruners' config, with W&B's names (`min_iter`, `eta`, `max_iter`, `hyperband`) taken as ours. */
function readEarlyTerminate(raw: Record<string, unknown>, map: SourceMap, ds: Diagnostic[], refused: (key: string) => boolean): EarlyTerminate | undefined {
  const type = raw.type === 'median' ? 'median' : 'asha'
  const keyAt = (k: string) => placeOf(map, `/early_terminate/${k}`)?.key
  const asha = ['min_steps', 'min_iter', 'reduction_factor', 'eta', 'max_steps', 'max_iter']
  const median = ['warmup_steps', 'startup_trials', 'min_trials']
  const before = ds.length
  for (const k of Object.keys(raw)) {
    if (k === 'type') continue
    const wrong = type === 'asha' ? median.includes(k) : asha.includes(k)
    if (wrong) ds.push({ location: keyAt(k), pointer: `/early_terminate/${k}`, message: `\`${k}\` is a setting of \`type: ${type === 'asha' ? 'median' : 'asha'}\`, not of \`type: ${String(raw.type)}\`` })
  }
  for (const [ours, wandb] of [['min_steps', 'min_iter'], ['reduction_factor', 'eta'], ['max_steps', 'max_iter']] as const) {
    if (raw[ours] !== undefined && raw[wandb] !== undefined) ds.push({ location: keyAt(wandb), pointer: `/early_terminate/${wandb}`, message: `\`${wandb}\` is W&B's name for \`${ours}\`; give one of them` })
  }
  if (type === 'median') {
    if (ds.length > before) return undefined
    return {
      type,
      warmupSteps: (raw.warmup_steps as number | undefined) ?? 0,
      startupTrials: (raw.startup_trials as number | undefined) ?? DEFAULT_MEDIAN_STARTUP_TRIALS,
      minTrials: (raw.min_trials as number | undefined) ?? 1,
    }
  }
  const minSteps = (raw.min_steps ?? raw.min_iter) as number | undefined
  const reductionFactor = ((raw.reduction_factor ?? raw.eta) as number | undefined) ?? DEFAULT_REDUCTION_FACTOR
  const maxSteps = (raw.max_steps ?? raw.max_iter) as number | undefined
  if (minSteps === undefined) {
    ds.push({ location: keyAt('type') ?? placeOf(map, '/early_terminate')?.value, pointer: '/early_terminate', message: '`type: asha` needs `min_steps`: the evaluations before the first rung', hint: 'e.g. `min_steps: 1` (rungs at 1, 3, 9 ... evaluations with reduction_factor 3)' })
  } else if (maxSteps !== undefined && maxSteps <= minSteps && !['min_steps', 'min_iter', 'max_steps', 'max_iter'].some(refused)) {
    ds.push({ location: placeOf(map, `/early_terminate/${raw.max_steps !== undefined ? 'max_steps' : 'max_iter'}`)?.value, pointer: '/early_terminate/max_steps', message: `\`max_steps\` (${maxSteps}) must be greater than \`min_steps\` (${minSteps}), or there is no rung` })
  }
  if (ds.length > before || minSteps === undefined) return undefined
  return { type: 'asha', minSteps, reductionFactor, ...(maxSteps !== undefined ? { maxSteps } : {}) }
}
