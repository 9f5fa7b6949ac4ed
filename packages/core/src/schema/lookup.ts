// The schema that governs a key path, for typing `--set` values. Follows properties,
// additionalProperties, $ref and, for `stages.<id>.with`, the schema `withOf` gives for that stage.
import type { JSONSchema } from './json-schema.ts'

export function schemaAt(root: JSONSchema, segments: string[], withOf: (stageId: string) => JSONSchema | undefined): JSONSchema | undefined {
  let cur: JSONSchema | undefined = root
  for (let i = 0; i < segments.length && cur; i++) {
    const seg = segments[i]!
    cur = deref(root, cur)
    if (i >= 2 && segments[0] === 'stages' && i === 2 && seg === 'with') {
      cur = withOf(segments[1]!)
      continue
    }
    const props = cur.properties as Record<string, JSONSchema> | undefined
    if (props && seg in props) cur = props[seg]
    else if (cur.items && /^\d+$/.test(seg)) cur = cur.items as JSONSchema
    else if (typeof cur.additionalProperties === 'object') cur = cur.additionalProperties as JSONSchema
    else cur = undefined
  }
  return cur ? deref(root, cur) : undefined
}

/** Follows a local `$ref` (`#/$defs/stage`) to the schema it names. */
export function deref(root: JSONSchema, s: JSONSchema): JSONSchema {
  const ref = s.$ref
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return s
  let cur: any = root
  for (const seg of ref.slice(2).split('/')) cur = cur?.[seg]
  return (cur as JSONSchema) ?? s
}
