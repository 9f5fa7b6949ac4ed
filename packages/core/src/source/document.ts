// A YAML file parsed into plain data plus a map from every JSON pointer in it to where it was
// written, so that later stages (merge, schema validation) can report `file:line:column`.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml'
import type { Diagnostic, Location } from '../diagnostics.ts'
import { pathToPointer, pointerToPath } from '../diagnostics.ts'
import { FILE_KINDS, UserFileError, readUserText } from '../fs/user-file.ts'

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

/**
 * Limits on what a YAML file may be, so that no input makes loading crash, exhaust memory or take
 * minutes: a pipeline or sweep is a few kB written by hand.
 */
export const YAML_LIMITS = {
  /** Bytes in one file (the one limit of the guarded reader, fs/user-file.ts). */
  maxBytes: FILE_KINDS.yaml.maxBytes,
  /** Levels of nested maps and lists (aliases included). */
  maxDepth: 64,
  /** Values that aliases (`*name`) may add when expanded, over the whole file. */
  maxAliasValues: 10_000,
} as const

/** Keys that would reach an object's prototype in JavaScript; no pipeline field has these names. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** A key that is never valid anywhere in a pipeline or sweep file (it names JavaScript object internals). */
export function reservedKey(key: string): boolean {
  return RESERVED_KEYS.has(key)
}

export const reservedKeyHint = '`__proto__`, `constructor` and `prototype` are not keys of any lorapipe file'

function sizeWords(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`
}

export function parseYaml(file: string, text: string): ParseResult {
  const lc = new LineCounter()
  const at = (offset: number): Location => {
    const p = lc.linePos(offset)
    return { file, line: p.line, column: p.col }
  }
  const start = { file, line: 1, column: 1 }
  if (text.length > YAML_LIMITS.maxBytes) {
    return { ok: false, text: '', diagnostics: [tooLarge(start, text.length)] }
  }
  // Duplicate keys are found in the walk below: the parser's own check compares every key with
  // every other (quadratic; minutes for a 100k-key file).
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false })
  if (doc.errors.length > 0) {
    return {
      ok: false,
      text,
      diagnostics: doc.errors.map((e) =>
        e.code === 'RESOURCE_EXHAUSTION'
          ? { location: at(e.pos[0]), message: `YAML nesting is too deep to read`, hint: `maps and lists may nest at most ${YAML_LIMITS.maxDepth} levels` }
          : { location: at(e.pos[0]), message: `YAML syntax error: ${e.message.split('\n')[0]}` },
      ),
    }
  }
  const map: SourceMap = new Map()
  const diagnostics: Diagnostic[] = []
  // Anchors in document order: an alias names the last anchor of that name before it.
  const anchors = new Map<string, Node>()
  // Size (values) and depth of a node with its aliases expanded, for the expansion limit.
  const extent = new WeakMap<Node, { size: number; depth: number }>()
  const walked = new WeakSet<Node>()
  let aliasValues = 0
  let aliasesReported = false
  const measure = (node: Node | null | undefined): { size: number; depth: number } => {
    if (!node) return { size: 1, depth: 0 }
    const hit = extent.get(node)
    if (hit) return hit
    let r = { size: 1, depth: 0 }
    extent.set(node, r) // an alias inside its own anchor's value (reported) counts as one value
    if (isAlias(node)) {
      const target = anchors.get(node.source)
      r = target ? measure(target) : r
    } else if (isMap(node) || isSeq(node)) {
      let size = 1
      let depth = 0
      for (const item of node.items as unknown[]) {
        const m = measure((isPair(item) ? item.value : item) as Node | null)
        size += m.size
        depth = Math.max(depth, m.depth)
      }
      r = { size, depth: depth + 1 }
    }
    extent.set(node, r)
    return r
  }
  const walk = (node: Node | null | undefined, path: (string | number)[], keyLoc?: Location): void => {
    if (!node) return
    const loc = node.range ? at(node.range[0]) : keyLoc ?? start
    map.set(pathToPointer(path), keyLoc ? { key: keyLoc, value: loc } : { value: loc })
    if (isAlias(node)) {
      const target = anchors.get(node.source)
      if (!target) return void diagnostics.push({ location: loc, message: `YAML alias \`*${node.source}\` has no anchor \`&${node.source}\` before it` })
      // The target is walked before its aliases, except an alias inside its own anchor's value.
      if (!walked.has(target)) {
        return void diagnostics.push({ location: loc, message: `YAML alias \`*${node.source}\` refers to a value that contains it`, hint: 'an alias may only repeat a value that is complete before it' })
      }
      const m = measure(target)
      aliasValues += m.size
      if (aliasValues > YAML_LIMITS.maxAliasValues) {
        if (aliasesReported) return
        aliasesReported = true
        return void diagnostics.push({
          location: loc,
          message: `YAML aliases expand to more than ${YAML_LIMITS.maxAliasValues.toLocaleString('en-US')} values`,
          hint: 'aliases may repeat small parts of a file; write large parts out, or split the file with `extends`',
        })
      }
      if (path.length + m.depth > YAML_LIMITS.maxDepth) return void diagnostics.push(tooDeep(loc))
      return
    }
    if (node.anchor) anchors.set(node.anchor, node)
    if (isMap(node) || isSeq(node)) {
      if (path.length >= YAML_LIMITS.maxDepth) return void diagnostics.push(tooDeep(loc))
    }
    if (isMap(node)) {
      const seen = new Set<string>()
      for (const item of node.items) {
        if (!isPair(item)) continue
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key)
        const kNode = item.key as Node | null
        const kLoc = kNode?.range ? at(kNode.range[0]) : loc
        if (kNode?.anchor) anchors.set(kNode.anchor, kNode)
        if (seen.has(k)) {
          diagnostics.push({ location: kLoc, message: 'YAML syntax error: Map keys must be unique', hint: 'each key may appear once in a map' })
          continue
        }
        seen.add(k)
        if (reservedKey(k)) {
          const where = pointerToPath(pathToPointer(path))
          diagnostics.push({ location: kLoc, pointer: pathToPointer([...path, k]), message: `unknown key \`${k}\`${path.length ? ` in \`${where}\`` : ''}`, hint: reservedKeyHint })
          continue
        }
        walk(item.value as Node | null, [...path, k], kLoc)
        if (item.value == null) map.set(pathToPointer([...path, k]), { key: kLoc, value: kLoc })
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item as Node, [...path, i]))
    }
    walked.add(node)
  }
  walk(doc.contents as Node | null, [])
  if (diagnostics.length > 0) return { ok: false, text, diagnostics }
  if (!map.has('')) map.set('', { value: start })
  let value: unknown
  try {
    // Aliases are bounded above; the library's own count would refuse some files that are fine.
    value = doc.toJS({ maxAliasCount: -1 }) ?? null
  } catch (e) {
    return { ok: false, text, diagnostics: [{ location: start, message: `YAML error: ${(e as Error).message}` }] }
  }
  return { ok: true, text, doc: { value, map } }
}

function tooDeep(location: Location): Diagnostic {
  return { location, message: `YAML nesting is deeper than ${YAML_LIMITS.maxDepth} levels`, hint: 'no lorapipe file needs this much nesting; flatten the structure' }
}

function tooLarge(location: Location, bytes: number): Diagnostic {
  return {
    location,
    message: `the file is ${sizeWords(bytes)}; a pipeline or sweep file may be at most ${sizeWords(YAML_LIMITS.maxBytes)}`,
    hint: 'is this the right file? pipeline files are a few kB of hand-written YAML',
  }
}

export function readYamlFile(file: string, displayName = file): ParseResult {
  let text: string
  try {
    // Through the one guarded reader: a regular file within the limit, never a device or a FIFO.
    text = readUserText(file, FILE_KINDS.yaml)
  } catch (e) {
    if (!(e instanceof UserFileError)) throw e
    const start = { file: displayName, line: 0, column: 0 }
    if (e.problem === 'too large' && e.size !== undefined) return { ok: false, diagnostics: [tooLarge(start, e.size)] }
    // "file not found" as before: the loaders of `extends` and sweep bases recognise it.
    return { ok: false, diagnostics: [{ location: start, message: e.problem === 'not found' && e.target === undefined ? 'file not found' : e.reason, hint: e.problem === 'not found' && e.target === undefined ? 'check the path (relative paths are resolved from the current folder)' : e.hint }] }
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
