// best.yaml: the winning trial's resolved pipeline (its run folder's config.resolved.yaml), made
// to run from anywhere: relative paths, which were relative to the base pipeline's folder, become
// absolute. It is validated before it is written, so `lorapipe run best.yaml` starts.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import { parse, stringify } from 'yaml'
import { writeFileAtomic, writeFileSynced } from '../../fs/atomic.ts'
import { isModuleRef, loadPipeline } from '../../pipeline/load.ts'
import { pipelineSchemaAt } from '../../pipeline/schema.ts'
import { PATH } from '../../schema/json-schema.ts'
import { isPlainObject } from '../../source/document.ts'
import { formatDiagnostics } from '../../diagnostics.ts'
import { BEST_FILE } from '../folder/layout.ts'
import { shadowingRule } from '../../pipeline/sections/shadowed.ts'

export interface BestSource {
  readonly trial: number
  readonly runDir: string
  /** The folder of the base pipeline, which relative paths in the trial's resolved pipeline are relative to. */
  readonly baseDir: string
  readonly metric: string
  readonly value: number
  readonly sweepDir: string
}

/**
 * Makes every path in a resolved pipeline absolute. A value is a path where the schema marks it so
 * (`model.path`, `dataset.train.path`, ...), where it names a stage module (`uses: ./stage.ts`), or,
 * where no schema is known (a custom stage's `with:`, `vars`), where it starts with `./` or `../`
 * and names a file or folder that exists beside the base pipeline.
 */
export function absolutePaths(doc: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const walk = (v: unknown, segs: string[]): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...segs, String(i)]))
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...segs, k])]))
    if (typeof v !== 'string' || v === '' || isAbsolute(v) || v.includes('${')) return v
    const isUses = segs.length === 3 && segs[0] === 'stages' && segs[2] === 'uses'
    if (isUses) return isModuleRef(v) ? resolve(baseDir, v) : v
    const schema = pipelineSchemaAt(doc, segs)
    if (schema?.[PATH] === true) return resolve(baseDir, v)
    if (schema === undefined && /^\.\.?\//.test(v) && existsSync(resolve(baseDir, v))) return resolve(baseDir, v)
    return v
  }
  return walk(doc, []) as Record<string, unknown>
}

/** The text of best.yaml for a trial, or an error saying why it cannot be made. */
export function bestPipelineText(src: BestSource): { text: string } | { error: string } {
  const file = join(src.runDir, 'config.resolved.yaml')
  if (!existsSync(file)) return { error: `trial ${src.trial} has no ${file}` }
  let doc: unknown
  try {
    doc = parse(readFileSync(file, 'utf8'))
  } catch (e) {
    return { error: `${file} is not valid YAML: ${(e as Error).message}` }
  }
  if (!isPlainObject(doc)) return { error: `${file} is not a pipeline` }
  const abs = absolutePaths(doc, src.baseDir)
  // The trial wrote into its own folder; a run of best.yaml makes a new one (runs/<name>/<time>, or --out).
  if (isPlainObject(abs.output)) {
    const { dir: _dir, ...rest } = abs.output
    if (Object.keys(rest).length > 0) abs.output = rest
    else delete abs.output
  }
  const longer = trainLonger(abs)
  const head = [
    `# The best trial (${src.trial}, ${src.metric} ${src.value}) of the sweep in ${src.sweepDir}:`,
    `# its resolved pipeline, with paths made absolute. Run it with \`lorapipe run ${join(src.sweepDir, BEST_FILE)}\``,
    ...(longer ? [`# (add \`--set ${longer}\` to train the winner longer).`] : []),
  ].join('\n')
  return { text: `${head}\n${stringify(abs)}` }
}

/**
 * The `--set` that trains the winner longer and takes effect: `trainer.epochs=N` (twice its
 * epochs), or, when `max_steps` shadows epochs (sections/shadowed.ts), `trainer.max_steps=N`.
 * Undefined when the pipeline has no trainer section to lengthen (a custom stage's own keys).
 */
export function trainLonger(doc: Record<string, unknown>): string | undefined {
  const places: [string, unknown][] = isPlainObject(doc.stages)
    ? Object.entries(doc.stages).map(([id, s]) => [`stages.${id}.with.`, isPlainObject(s) && isPlainObject(s.with) ? s.with.trainer : undefined])
    : [['', doc.trainer]]
  const found = places.find(([, t]) => isPlainObject(t))
  if (!found) return undefined
  const [prefix, trainer] = found as [string, Record<string, unknown>]
  const key = shadowingRule('trainer', 'epochs', trainer)?.by ?? 'epochs'
  const now = trainer[key]
  return `${prefix}trainer.${key}=${typeof now === 'number' ? (key === 'epochs' ? now * 2 : Math.round(now * 2)) : '...'}`
}

/** Writes best.yaml after checking that it validates as a pipeline; returns its path or the problem. */
export function writeBestPipeline(src: BestSource): Effect.Effect<{ file: string } | { error: string }> {
  return Effect.gen(function* () {
    const made = bestPipelineText(src)
    if ('error' in made) return made
    const target = join(src.sweepDir, BEST_FILE)
    // Validated from a file in the same folder, so relative references resolve as they will later.
    const probe = join(dirname(target), `.best.check-${process.pid}.yaml`)
    // Removed however it ends, a write cut short by a full disk included.
    const checked = yield* Effect.suspend(() => {
      writeFileSynced(probe, made.text)
      return Effect.either(loadPipeline(probe))
    }).pipe(Effect.ensuring(Effect.sync(() => rmSync(probe, { force: true }))))
    if (checked._tag === 'Left') return { error: `the best trial's pipeline does not validate:\n${formatDiagnostics(checked.left.diagnostics)}` }
    writeFileAtomic(target, made.text)
    return { file: target }
  })
}
