// From a file name to a ValidatedPipeline: read YAML (with positions), resolve `extends`, apply
// `--set`, interpolate vars and env, validate against the schema, resolve each stage (built-in or
// user module), merge top-level defaults into stage parameters, validate those, and check the
// graph (needs, references, cycles). Every problem found is reported together.
import * as Effect from 'effect/Effect'
import { dirname, isAbsolute, resolve } from 'node:path'
import { type Diagnostic, formatLocation, PipelineInvalid, sortDiagnostics } from '../diagnostics.ts'
import { FILE_KINDS, userFileProblem } from '../fs/user-file.ts'
import { validateAgainst } from '../schema/validate.ts'
import { isPlainObject, placeOf, type Sourced, type SourceMap } from '../source/document.ts'
import { displayPath, loadWithExtends } from '../source/extends.ts'
import { interpolate } from '../source/interpolate.ts'
import { deepMerge, escapeKey, rebase } from '../source/merge.ts'
import { applyOverrides, parseOverride, type Override } from '../source/overrides.ts'
import { builtinSpec, builtinSpecs } from '../stage/builtins.ts'
import type { CustomStage } from '../stage/define.ts'
import { importStageModule } from '../stage/module-import.ts'
import type { StageSpec } from '../stage/spec.ts'
import { didYouMean } from '../suggest.ts'
import { findStageRefs } from './refs.ts'
import { fileSchema, pipelineSchemaAt } from './schema.ts'
import { DEFAULT_SEED } from './sections/seed.ts'
import { markValidated, SHORT_FORM_STAGE, type StageNode, type ValidatedPipeline } from './types.ts'

export interface LoadOptions {
  /** `--set key.path=value` arguments, applied in order after `extends`. */
  readonly sets?: readonly string[]
  readonly env?: Record<string, string | undefined>
  /**
   * The file is a run folder's config.resolved.yaml (for `run --resume`): its references are
   * already resolved, so it is not interpolated again, and its relative paths are relative to
   * `dir`, the folder of the pipeline file it was resolved from.
   */
  readonly resolvedFrom?: {
    readonly dir: string
    /** The pipeline file it was resolved from, to name as the run's (a run folder that has not started yet: see run/resume.ts). */
    readonly file?: string
  }
  /**
   * The pipeline's YAML (or JSON) text, given instead of read from `file` (for a pipeline made in
   * code): `file` still names it in messages and its folder resolves its relative paths.
   */
  readonly text?: string
}

export function isModuleRef(uses: string): boolean {
  return uses.startsWith('./') || uses.startsWith('../') || isAbsolute(uses) || /\.(m?ts|m?js|cjs|cts)$/.test(uses)
}

export function loadPipeline(file: string, opts: LoadOptions = {}): Effect.Effect<ValidatedPipeline, PipelineInvalid> {
  return Effect.suspend(() => {
    const abs = resolve(file)
    const loaded = loadWithExtends(abs, opts.text)
    const texts = loaded.texts
    if (!loaded.doc) return Effect.fail(invalid(abs, loaded.diagnostics, texts))
    const diagnostics: Diagnostic[] = []
    const overrides: Override[] = []
    for (const s of opts.sets ?? []) {
      const o = parseOverride(s)
      if ('path' in o) overrides.push(o)
      else diagnostics.push(o)
    }
    const root0 = loaded.doc
    const over = applyOverrides(root0, overrides, (segs) => pipelineSchemaAt(root0.value, segs))
    diagnostics.push(...over.diagnostics)
    const source = { file: abs, dir: opts.resolvedFrom?.dir ?? dirname(abs), doc: over.doc, texts, files: loaded.files }
    return validateDocument(source, opts, diagnostics)
  })
}

/** A pipeline document not yet validated: what `extends` and `--set` made of a file, or a sweep made of its base. */
export interface PipelineDocument {
  /** Absolute path of the pipeline file it comes from (for messages and the run's record). */
  readonly file: string
  /** The folder its relative paths are relative to. */
  readonly dir: string
  /** Before vars and env are interpolated. */
  readonly doc: Sourced
  /** Source texts of the files it was read from, for code frames. */
  readonly texts: Map<string, string>
  /** Every file read (the pipeline first, then what it extends). */
  readonly files: readonly string[]
}

/**
 * `loadPipeline` for a document in memory (a sweep's trial: its base with the trial's values set):
 * interpolated and validated exactly as a file is after `extends` and `--set`.
 */
export function loadPipelineDocument(source: PipelineDocument, opts: Pick<LoadOptions, 'env'> = {}): Effect.Effect<ValidatedPipeline, PipelineInvalid> {
  return Effect.suspend(() => validateDocument(source, opts, []))
}

const invalid = (file: string, ds: Diagnostic[], texts: Map<string, string>) => withTexts(new PipelineInvalid({ file: displayPath(file), diagnostics: sortDiagnostics(ds) }), texts)

/** From a document after `extends` and `--set` (`diagnostics`: what they found wrong) to a ValidatedPipeline. */
function validateDocument(source: PipelineDocument, opts: LoadOptions, diagnostics: Diagnostic[]): Effect.Effect<ValidatedPipeline, PipelineInvalid> {
  return Effect.gen(function* () {
    const { texts } = source
    const interp = opts.resolvedFrom ? { doc: source.doc, diagnostics: [] } : interpolate(source.doc, opts.env ?? process.env)
    diagnostics.push(...interp.diagnostics)
    const doc = interp.doc
    // A reference that could not be resolved is already reported; its literal text would only
    // add a type error at the same place.
    const unresolved = new Set(interp.diagnostics.map((d) => d.pointer))
    const fileErrors = validateAgainst(fileSchema(), structuredClone(doc.value), doc.map).filter((d) => !unresolved.has(d.pointer))
    diagnostics.push(...fileErrors)
    const reported = new Set(fileErrors.map((d) => (d.location ? formatLocation(d.location) : '')))

    const top = (isPlainObject(doc.value) ? doc.value : {}) as Record<string, unknown>
    const pipelineDir = source.dir
    const stages = new Map<string, StageNode>()
    const shortForm = top.stages === undefined
    const raw: [string, Record<string, unknown>][] = shortForm
      ? [[SHORT_FORM_STAGE, { uses: 'finetune' }]]
      : isPlainObject(top.stages)
        ? Object.entries(top.stages).filter((e): e is [string, Record<string, unknown>] => isPlainObject(e[1]))
        : []

    for (const [id, st] of raw) {
      const base = shortForm ? '' : `/stages/${escapeKey(id)}`
      const uses = typeof st.uses === 'string' ? st.uses : undefined
      if (uses === undefined) continue // reported by the schema
      const usesPlace = placeOf(doc.map, `${base}/uses`)?.value
      const resolved = yield* resolveStage(uses, pipelineDir)
      if ('message' in resolved) {
        diagnostics.push({ location: usesPlace, pointer: `${base}/uses`, message: resolved.message, hint: resolved.hint })
        continue
      }
      const { spec, module } = resolved
      // Parameters: top-level sections the stage takes, with the stage's `with:` merged over them.
      let params: Sourced = { value: {}, map: new Map([['', { value: usesPlace ?? placeOf(doc.map, '')!.value }]]) }
      const defaultsValue: Record<string, unknown> = {}
      const defaultsMap: SourceMap = new Map()
      for (const section of spec.defaults ?? []) {
        if (section in top) {
          defaultsValue[section] = structuredClone(top[section])
          for (const [k, v] of rebase(doc.map, `/${section}`, `/${section}`)) defaultsMap.set(k, v)
        }
      }
      if (shortForm && top.seed !== undefined && spec.params.properties && 'seed' in (spec.params.properties as object)) {
        defaultsValue.seed = top.seed
        // With its place, so a bad seed is one error at the `seed:` line (not a second one at 1:1).
        const seedPlace = doc.map.get('/seed')
        if (seedPlace) defaultsMap.set('/seed', seedPlace)
      }
      params = deepMerge(params, { value: defaultsValue, map: defaultsMap })
      if (!shortForm && st.with !== undefined) params = deepMerge(params, { value: structuredClone(st.with), map: rebase(doc.map, `${base}/with`, '') })
      const refs = findStageRefs(params.value)
      const refPointers = new Set(refs.map((r) => r.pointer))
      // The one place a pipeline's defaults are filled in (the sections' `default`s): stages get decoded parameters.
      const paramErrors = validateAgainst(spec.params, params.value, params.map, { useDefaults: true, pointerPrefix: shortForm ? '' : `${base}/with` })
      for (const d of paramErrors) {
        const rel = d.pointer?.slice(shortForm ? 0 : `${base}/with`.length) ?? ''
        if (refPointers.has(rel)) continue // checked again once the reference is resolved
        if (d.location && reported.has(formatLocation(d.location)) && !d.message.startsWith('missing')) continue
        if (shortForm && unresolved.has(d.pointer)) continue
        diagnostics.push(shortForm || d.location ? d : { ...d, location: usesPlace })
      }
      for (const c of spec.check?.(params.value as Record<string, unknown>) ?? []) {
        diagnostics.push({ location: placeOf(params.map, c.pointer)?.value ?? usesPlace, pointer: (shortForm ? '' : `${base}/with`) + c.pointer, message: c.message, hint: c.hint })
      }

      const needsRaw = st.needs === undefined ? [] : Array.isArray(st.needs) ? st.needs : [st.needs]
      const needs = needsRaw.filter((n): n is string => typeof n === 'string')
      stages.set(id, {
        id,
        uses,
        spec,
        module,
        needs: [...new Set([...needs, ...refs.map((r) => r.stage)])],
        params: params.value as Record<string, unknown>,
        location: placeOf(doc.map, base)?.key ?? usesPlace,
        places: params.map,
      })
    }

    diagnostics.push(...checkGraph(stages, doc, shortForm))
    if (diagnostics.length > 0) return yield* Effect.fail(invalid(source.file, diagnostics, texts))

    const runtime = isPlainObject(top.runtime) ? (top.runtime as ValidatedPipeline['runtime']) : {}
    const output = isPlainObject(top.output) ? (top.output as ValidatedPipeline['output']) : {}
    return markValidated({
      file: opts.resolvedFrom?.file ?? source.file,
      dir: pipelineDir,
      name: String(top.name),
      seed: typeof top.seed === 'number' ? top.seed : DEFAULT_SEED,
      resolved: top,
      runtime,
      output,
      stages,
      shortForm,
      files: source.files,
      texts,
      places: doc.map,
      document: source.doc,
    })
  })
}

/** Diagnostics carry the source texts so the CLI can show code frames. */
function withTexts(e: PipelineInvalid, texts: Map<string, string>): PipelineInvalid {
  Object.defineProperty(e, 'texts', { value: texts, enumerable: false })
  return e
}

export function sourceTextsOf(e: PipelineInvalid): Map<string, string> | undefined {
  return (e as unknown as { texts?: Map<string, string> }).texts
}

type Resolved = { spec: StageSpec; module?: { path: string; stage: CustomStage } } | { message: string; hint?: string }

function resolveStage(uses: string, pipelineDir: string): Effect.Effect<Resolved> {
  const builtin = builtinSpec(uses)
  if (builtin) return Effect.succeed({ spec: builtin })
  if (!isModuleRef(uses)) {
    return Effect.succeed({
      message: `unknown stage \`${uses}\``,
      hint: didYouMean(uses, builtinSpecs.map((s) => s.name)) ?? `built-in stages: ${builtinSpecs.map((s) => s.name).join(', ')}; or a module path such as ./stages/my-stage.ts`,
    })
  }
  const path = resolve(pipelineDir, uses)
  // Looked at before it is imported: a FIFO or /dev/zero would hang the import, a folder confuse it.
  const unreadable = userFileProblem(path, FILE_KINDS.stageModule)
  if (unreadable?.problem === 'not found' && unreadable.target === undefined) return Effect.succeed({ message: `stage module ${uses} not found (looked for ${displayPath(path)})`, hint: 'module paths are relative to the pipeline file' })
  if (unreadable) return Effect.succeed({ message: `stage module ${uses} ${unreadable.reason}`, hint: unreadable.hint })
  // define.ts (with Effect Schema, a large import) is loaded only for pipelines with module stages.
  return Effect.promise(() => Promise.all([importStageModule(path), import('../stage/define.ts')]).then(
    ([mod, { defineStage, isStageDefinition }]): Resolved => {
      const candidate = mod.default ?? mod.stage
      if (!isStageDefinition(candidate)) {
        return { message: `${uses} does not export a stage`, hint: "export default defineStage({ name, params, run }), with `import { defineStage } from 'lorapipe'`" }
      }
      const stage = 'decode' in candidate ? (candidate as CustomStage) : defineStage(candidate as Parameters<typeof defineStage>[0])
      return { spec: stage, module: { path, stage } }
    },
    (err: unknown): Resolved => ({
      message: `cannot load stage module ${uses}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      hint: 'fix the error in the module; TypeScript and JavaScript modules are loaded as they are, no build step',
    }),
  ))
}

function checkGraph(stages: Map<string, StageNode>, doc: Sourced, shortForm: boolean): Diagnostic[] {
  const ds: Diagnostic[] = []
  const ids = [...stages.keys()]
  const top = isPlainObject(doc.value) ? doc.value : {}
  const rawStages = isPlainObject(top.stages) ? top.stages : {}
  const allIds = Object.keys(rawStages)
  for (const node of stages.values()) {
    const base = `/stages/${escapeKey(node.id)}`
    const st = rawStages[node.id]
    const explicit = isPlainObject(st) ? (Array.isArray(st.needs) ? st.needs : st.needs === undefined ? [] : [st.needs]) : []
    explicit.forEach((n, i) => {
      if (typeof n !== 'string') return
      const ptr = Array.isArray((st as Record<string, unknown>).needs) ? `${base}/needs/${i}` : `${base}/needs`
      if (n === node.id) ds.push({ location: placeOf(doc.map, ptr)?.value, pointer: ptr, message: `stage \`${node.id}\` needs itself` })
      else if (!allIds.includes(n))
        ds.push({
          location: placeOf(doc.map, ptr)?.value,
          pointer: ptr,
          message: `stage \`${node.id}\` needs \`${n}\`, which is not a stage of this pipeline`,
          hint: didYouMean(n, allIds) ?? `stages: ${allIds.join(', ')}`,
        })
    })
    if (shortForm) continue
    for (const ref of findStageRefs(node.params)) {
      const ptr = `${base}/with${ref.pointer}`
      const target = stages.get(ref.stage)
      if (!allIds.includes(ref.stage)) {
        ds.push({
          location: placeOf(doc.map, ptr)?.value,
          pointer: ptr,
          message: `\`\${stages.${ref.stage}.outputs.${ref.output}}\` refers to stage \`${ref.stage}\`, which is not a stage of this pipeline`,
          hint: didYouMean(ref.stage, allIds) ?? `stages: ${allIds.join(', ')}`,
        })
      } else if (ref.stage === node.id) {
        ds.push({ location: placeOf(doc.map, ptr)?.value, pointer: ptr, message: `stage \`${node.id}\` refers to its own outputs` })
      } else if (target && target.spec.outputs.length > 0 && !target.spec.outputs.includes(ref.output)) {
        ds.push({
          location: placeOf(doc.map, ptr)?.value,
          pointer: ptr,
          message: `stage \`${ref.stage}\` (${target.uses}) has no output \`${ref.output}\``,
          hint: didYouMean(ref.output, target.spec.outputs) ?? `its outputs: ${target.spec.outputs.join(', ')}`,
        })
      }
    }
  }
  // Cycles: depth-first search; each cycle is reported once, at the first stage in file order.
  const state = new Map<string, 'active' | 'done'>()
  const reportedCycles = new Set<string>()
  const visit = (id: string, path: string[]) => {
    state.set(id, 'active')
    for (const n of stages.get(id)?.needs ?? []) {
      if (!stages.has(n)) continue
      if (state.get(n) === 'active') {
        const cycle = [...path.slice(path.indexOf(n)), n]
        const key = [...cycle.slice(0, -1)].sort().join(',')
        if (reportedCycles.has(key)) continue
        reportedCycles.add(key)
        const first = cycle.slice(0, -1).sort((a, b) => ids.indexOf(a) - ids.indexOf(b))[0]!
        const ptr = `/stages/${escapeKey(first)}/needs`
        ds.push({
          location: placeOf(doc.map, ptr)?.value ?? stages.get(first)?.location,
          pointer: ptr,
          message: `dependency cycle: ${cycle.join(' -> ')}`,
          hint: 'a stage cannot (directly or through others) need itself; remove one of these `needs` or references',
        })
      } else if (!state.has(n)) visit(n, [...path, n])
    }
    state.set(id, 'done')
  }
  for (const id of ids) if (!state.has(id)) visit(id, [id])
  return ds
}

