// Whether a parameter's pipeline path (`lora.r`, `stages.lora.with.trainer.learning_rate`) names
// something the base pipeline can hold, found by walking the pipeline schema and, under
// `stages.<id>.with`, that stage's own parameter schema (built-in or custom module). An unknown
// key gets a did-you-mean that spells the whole path. Values are checked later, by loading trial
// pipelines; this only makes sure a misspelt path is not silently added as a new key.
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import { fileSchema } from '../../pipeline/schema.ts'
import type { JSONSchema } from '../../schema/json-schema.ts'
import { deref } from '../../schema/lookup.ts'
import { closest } from '../../suggest.ts'
import { pathToPointer } from '../../diagnostics.ts'
import { knownNameHint } from '../../schema/foreign-names.ts'

export type PathLookup =
  /** The schema at the path, or undefined where the pipeline takes any key (`vars.*`, a map of values). */
  | { readonly ok: true; readonly schema: JSONSchema | undefined }
  | { readonly ok: false; readonly message: string; readonly hint?: string }

/**
 * Without a base (it could not be loaded), paths outside `stages` are still checked against the
 * pipeline schema; a stage's path needs the base's stages and is taken as it is.
 */
export function lookupPath(base: ValidatedPipeline | undefined, path: string): PathLookup {
  const segs = path.split('.')
  if (segs.some((s) => s === '')) return { ok: false, message: `\`${path}\` is not a pipeline path`, hint: 'separate keys with single dots: `trainer.learning_rate`' }
  const root = fileSchema()
  if (segs[0] !== 'stages') return walk(root, root, segs, [])
  if (!base) return { ok: true, schema: undefined }

  if (base.shortForm) {
    const rest = segs.slice(3).join('.')
    return {
      ok: false,
      message: `\`${path}\` names a stage, but the base pipeline is a single job without \`stages:\``,
      hint: segs[2] === 'with' && rest ? `name the key directly: \`${rest}\`` : 'name the key directly, e.g. `lora.r`',
    }
  }
  const ids = [...base.stages.keys()]
  const id = segs[1]
  if (id === undefined) return { ok: true, schema: undefined }
  const node = base.stages.get(id)
  if (!node) {
    const near = closest(id, ids)
    return {
      ok: false,
      message: `the base pipeline has no stage \`${id}\``,
      hint: near ? `did you mean \`${['stages', near, ...segs.slice(2)].join('.')}\`?` : `its stages: ${ids.join(', ')}`,
    }
  }
  if (segs.length < 3 || segs[2] !== 'with') {
    const stageDef = (root.$defs as Record<string, JSONSchema>).stage!
    return walk(root, stageDef, segs.slice(2), segs.slice(0, 2))
  }
  return walk(node.spec.params, node.spec.params, segs.slice(3), segs.slice(0, 3))
}

function walk(root: JSONSchema, start: JSONSchema, segs: readonly string[], done: readonly string[]): PathLookup {
  let cur: JSONSchema | undefined = start
  const at = [...done]
  for (const [i, seg] of segs.entries()) {
    if (!cur) return { ok: true, schema: undefined }
    cur = deref(root, cur)
    const props = cur.properties as Record<string, JSONSchema> | undefined
    const where = at.length ? ` in \`${at.join('.')}\`` : ''
    if (props && seg in props) cur = props[seg]
    else if (cur.items && typeof cur.items === 'object' && /^\d+$/.test(seg)) cur = cur.items as JSONSchema
    else if (typeof cur.additionalProperties === 'object') cur = cur.additionalProperties as JSONSchema
    else if (cur.additionalProperties === false) {
      const keys = Object.keys(props ?? {})
      const near = closest(seg, keys)
      return {
        ok: false,
        message: `unknown key \`${seg}\`${where}`,
        // Another tool's name (`lora_r`), or lorapipe's key of another section (`learning_rate`),
        // before any spelling guess: the pipeline validator's hint, from the same table.
        hint: knownNameHint(seg, pathToPointer(at), keys) ?? (near ? `did you mean \`${[...at, near, ...segs.slice(i + 1)].join('.')}\`?` : `valid keys${where}: ${keys.join(', ')}`),
      }
    } else if (!props && !takesKeys(cur)) {
      return { ok: false, message: `\`${at.join('.')}\` holds a single value, it has no key \`${seg}\``, hint: `sweep \`${at.join('.')}\` itself` }
    } else cur = undefined
    at.push(seg)
  }
  return { ok: true, schema: cur ? deref(root, cur) : undefined }
}

/** Whether a schema can hold keys (a map, a list, or anything). */
function takesKeys(s: JSONSchema): boolean {
  const t = s.type
  if (t === undefined) return !Array.isArray(s.enum)
  const ts = Array.isArray(t) ? t : [t]
  return ts.includes('object') || ts.includes('array')
}
