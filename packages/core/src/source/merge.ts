// Deep merge used by `extends:` and by stage defaults: maps merge key by key, everything else
// (scalars, lists, null) replaces. `null` replacing a map is how a child turns a section off
// (`lora: null` for full fine-tuning). The source map follows the values.
import { isPlainObject, type Sourced, type SourceMap } from './document.ts'

export function deepMerge(base: Sourced, over: Sourced, at = ''): Sourced {
  const map: SourceMap = new Map(base.map)
  const value = mergeAt(base.value, over.value, at, map, over.map)
  return { value, map }
}

function mergeAt(b: unknown, o: unknown, ptr: string, map: SourceMap, overMap: SourceMap): unknown {
  if (isPlainObject(b) && isPlainObject(o)) {
    const own = overMap.get(ptr)
    if (own) map.set(ptr, own)
    const out: Record<string, unknown> = { ...b }
    for (const [k, v] of Object.entries(o)) {
      const child = `${ptr}/${escapeKey(k)}`
      out[k] = Object.hasOwn(b, k) ? mergeAt(b[k], v, child, map, overMap) : replaceAt(undefined, v, child, map, overMap)
    }
    return out
  }
  return replaceAt(b, o, ptr, map, overMap)
}

// The entries to drop and copy are found by walking the values (old and new) under `ptr`, not by
// scanning the maps: scanning made merging a file of n keys take n^2 steps.
function replaceAt(old: unknown, o: unknown, ptr: string, map: SourceMap, overMap: SourceMap): unknown {
  forEachPointer(old, ptr, (p) => map.delete(p))
  forEachPointer(o, ptr, (p) => {
    const place = overMap.get(p)
    if (place) map.set(p, place)
  })
  return o
}

/** Calls `f` with `ptr` and the pointer of every value inside `v`. */
function forEachPointer(v: unknown, ptr: string, f: (pointer: string) => void): void {
  f(ptr)
  if (Array.isArray(v)) v.forEach((x, i) => forEachPointer(x, `${ptr}/${i}`, f))
  else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) forEachPointer(x, `${ptr}/${escapeKey(k)}`, f)
}

export function escapeKey(k: string): string {
  return k.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** Re-roots a source map: entries under `from` are moved under `to` (e.g. `/trainer` -> `/stages/x/with/trainer`). */
export function rebase(map: SourceMap, from: string, to: string): SourceMap {
  const out: SourceMap = new Map()
  for (const [k, v] of map) if (k === from || k.startsWith(from + '/')) out.set(to + k.slice(from.length), v)
  return out
}
