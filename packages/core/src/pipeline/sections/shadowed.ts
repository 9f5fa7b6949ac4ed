// Settings that another setting overrides, as in transformers: `max_steps` overrides
// `num_train_epochs` (our `epochs`), and `warmup_steps` > 0 wins over `warmup_ratio`. Setting the
// shadowed key from the command line (`--set trainer.epochs=5`) or a sweep parameter would silently
// do nothing; the check below makes that a warning (never an error: the pipeline is valid), and
// best.yaml's header suggests only settings that take effect. The one table of these rules.
import type { Diagnostic, Location } from '../../diagnostics.ts'
import { isPlainObject } from '../../source/document.ts'
import type { ValidatedPipeline } from '../types.ts'

export interface ShadowRule {
  /** The section both keys are in. */
  readonly section: 'trainer'
  /** The key that has no effect ... */
  readonly key: string
  /** ... while this key of the same section is active. */
  readonly by: string
  readonly active: (section: Readonly<Record<string, unknown>>) => boolean
  /** Why, in transformers' terms. */
  readonly why: string
}

const positive = (v: unknown) => typeof v === 'number' && v > 0

export const shadowedKeys: readonly ShadowRule[] = [
  { section: 'trainer', key: 'epochs', by: 'max_steps', active: (t) => positive(t.max_steps), why: "max_steps overrides epochs, as transformers' max_steps overrides num_train_epochs" },
  { section: 'trainer', key: 'warmup_ratio', by: 'warmup_steps', active: (t) => positive(t.warmup_steps), why: 'warmup_steps > 0 wins over warmup_ratio, as in transformers' },
]

/** The rule that shadows `key` of `section` in a stage's resolved section, if one is active there. */
export function shadowingRule(section: string, key: string, values: Readonly<Record<string, unknown>>): ShadowRule | undefined {
  return shadowedKeys.find((r) => r.section === section && r.key === key && r.active(values))
}

/** A setting made from outside the file: a `--set` argument or a sweep parameter, by its pipeline path. */
export interface Override {
  /** `trainer.epochs` or `stages.lora.with.trainer.epochs`. */
  readonly path: string
  readonly location?: Location
  readonly pointer?: string
  /** How the message names it: `--set trainer.epochs=5`, `sweep parameter trainer.epochs`. */
  readonly what: string
}

/**
 * Warnings for overrides that have no effect in `pipeline` because another setting shadows them.
 * `alsoSet`: paths set by other overrides (a sweep parameter that varies `trainer.max_steps` makes
 * epochs count in some trials, so epochs is not said to be shadowed).
 */
export function shadowedOverrides(pipeline: ValidatedPipeline, overrides: readonly Override[], alsoSet: readonly string[] = []): Diagnostic[] {
  const out: Diagnostic[] = []
  for (const o of overrides) {
    const segs = o.path.split('.')
    const inStage = segs[0] === 'stages' && segs[2] === 'with'
    const rest = inStage ? segs.slice(3) : segs
    if (rest.length !== 2) continue
    const [section, key] = rest as [string, string]
    const stages = inStage ? [pipeline.stages.get(segs[1]!)].filter((s) => s !== undefined) : [...pipeline.stages.values()]
    const prefix = inStage ? segs.slice(0, 3).join('.') + '.' : ''
    for (const stage of stages) {
      const values = stage.params[section]
      if (!isPlainObject(values)) continue
      const rule = shadowingRule(section, key, values)
      if (!rule || alsoSet.includes(`${prefix}${section}.${rule.by}`)) continue
      // Where the shadowing value is in effect: the stage's own section, but for a single job.
      const by = `${inStage || pipeline.shortForm ? prefix : `stages.${stage.id}.with.`}${section}.${rule.by}`
      out.push({
        severity: 'warning',
        ...(o.location ? { location: o.location } : {}),
        ...(o.pointer ? { pointer: o.pointer } : {}),
        message: `${o.what} has no effect${pipeline.stages.size > 1 ? ` in stage \`${stage.id}\`` : ''}: \`${by}\` is ${JSON.stringify(values[rule.by])} (${rule.why})`,
        hint: `set \`${by}\` instead${rule.by === 'max_steps' ? ', or remove it to train by epochs' : ', or set it to 0 to use the ratio'}`,
      })
      break
    }
  }
  return out
}

/** The `--set` arguments as overrides (those that do not parse are the loader's errors, not ours). */
export function setOverrides(sets: readonly string[]): Override[] {
  return sets.flatMap((s) => {
    const eq = s.indexOf('=')
    return eq > 0 ? [{ path: s.slice(0, eq).trim(), location: { file: `--set ${s}`, line: 0, column: 0 }, what: `\`--set ${s}\`` }] : []
  })
}
