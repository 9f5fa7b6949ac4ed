// A YAML file parsed into plain data plus a map from every JSON pointer in it to where it was
// written, so that later stages (merge, schema validation) can report `file:line:column`.
import { readFileSync } from 'node:fs'
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml'
import type { Diagnostic, Location } from '../diagnostics.ts'
import { pathToPointer } from '../diagnostics.ts'

export interface Place {
  /** Where the key was written (for map entries). */
  readonly key?: Location
  /** Where the value was written. */
  readonly value: Location
}

/** JSON pointer -> place. Pointers of merged documents point into whichever file set the value. */
export type SourceMap = Map<string, Place>

/** Plain data with its source map: what every step before validation passes along. */
export interface Sourced {
  readonly value: unknown
  readonly map: SourceMap
}

export type ParseResult =
  | { readonly ok: true; readonly doc: Sourced; readonly text: string }
  | { readonly ok: false; readonly diagnostics: Diagnostic[]; readonly text?: string }

export function parseYaml(file: string, text: string): ParseResult {
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number): Location => {
    const p = lc.linePos(offset)
    return { file, line: p.line, column: p.col }
  }
  if (doc.errors.length > 0) {
    return {
      ok: false,
      text,
      diagnostics: doc.errors.map((e) => ({
        location: at(e.pos[0]),
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        hint: e.code === 'DUPLICATE_KEY' ? 'each key may appear once in a map' : undefined,
      })),
    }
  }
  const map: SourceMap = new Map()
  const walk = (node: Node | null | undefined, path: (string | number)[], keyLoc?: Location) => {
    if (!node) return
    const loc = node.range ? at(node.range[0]) : keyLoc ?? { file, line: 1, column: 1 }
    map.set(pathToPointer(path), keyLoc ? { key: keyLoc, value: loc } : { value: loc })
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key)
        const kNode = item.key as Node | null
        const kLoc = kNode?.range ? at(kNode.range[0]) : loc
        walk(item.value as Node | null, [...path, k], kLoc)
        if (item.value == null) map.set(pathToPointer([...path, k]), { key: kLoc, value: kLoc })
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item as Node, [...path, i]))
    }
  }
  walk(doc.contents as Node | null, [])
  if (!map.has('')) map.set('', { value: { file, line: 1, column: 1 } })
  return { ok: true, text, doc: { value: doc.toJS({ maxAliasCount: 100 }) ?? null, map } }
}

export function readYamlFile(file: string, displayName = file): ParseResult {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    return {
      ok: false,
      diagnostics: [
        {
          location: { file: displayName, line: 0, column: 0 },
          message: err.code === 'ENOENT' ? 'file not found' : `cannot read file: ${err.message}`,
          hint: err.code === 'ENOENT' ? 'check the path (relative paths are resolved from the current folder)' : undefined,
        },
      ],
    }
  }
  return parseYaml(displayName, text)
}

/** The place to report for a pointer: its own entry, or the nearest ancestor that has one. */
export function placeOf(map: SourceMap, pointer: string): Place | undefined {
  let p = pointer
  for (;;) {
    const hit = map.get(p)
    if (hit) return hit
    if (p === '') return undefined
    p = p.slice(0, p.lastIndexOf('/'))
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
