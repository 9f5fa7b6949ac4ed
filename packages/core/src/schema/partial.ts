// The file schema accepts partial job sections, because top-level defaults, `extends` and stage
// `with:` are merged before the full (required-checking) validation of each stage.
import type { JSONSchema } from './json-schema.ts'

export function partial(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(partial)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: JSONSchema = {}
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'required') continue
    out[k] = partial(v)
  }
  return out
}
