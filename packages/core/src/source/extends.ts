// `extends: ./base.yaml` (or a list): the bases are loaded first, in order, and the file is deep
// merged over them. Paths are relative to the file that names them. Cycles are errors.
import { dirname, relative, resolve } from 'node:path'
import type { Diagnostic } from '../diagnostics.ts'
import { isPlainObject, parseYaml, placeOf, readYamlFile, type Sourced } from './document.ts'
import { deepMerge } from './merge.ts'

export interface LoadedFiles {
  readonly doc?: Sourced
  readonly diagnostics: Diagnostic[]
  /** Display name -> text, for code frames in diagnostics. */
  readonly texts: Map<string, string>
  /** Absolute paths of every file read, the pipeline first. */
  readonly files: string[]
}

/** How a file is named in messages: relative to the current folder when inside it. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs)
  return rel && !rel.startsWith('..') ? rel : abs
}

/** `text`: the root file's contents, given instead of read from `file` (which still names it and resolves its paths). */
export function loadWithExtends(file: string, text?: string): LoadedFiles {
  const texts = new Map<string, string>()
  const files: string[] = []
  const diagnostics: Diagnostic[] = []

  const load = (abs: string, stack: string[]): Sourced | undefined => {
    const name = displayPath(abs)
    files.push(abs)
    const parsed = text !== undefined && stack.length === 1 ? parseYaml(name, text) : readYamlFile(abs, name)
    if (parsed.text !== undefined) texts.set(name, parsed.text)
    if (!parsed.ok) {
      diagnostics.push(...parsed.diagnostics)
      return undefined
    }
    const { value, map } = parsed.doc
    if (value === null) return { value: {}, map }
    if (!isPlainObject(value)) {
      diagnostics.push({
        location: placeOf(map, '')?.value,
        message: 'a pipeline file must be a YAML map (keys such as `name`, `model`, `trainer`)',
      })
      return undefined
    }
    const ext = value.extends
    if (ext === undefined) return parsed.doc
    const bases: { path: string; ptr: string }[] = []
    if (typeof ext === 'string') bases.push({ path: ext, ptr: '/extends' })
    else if (Array.isArray(ext) && ext.every((e) => typeof e === 'string'))
      ext.forEach((e, i) => bases.push({ path: e as string, ptr: `/extends/${i}` }))
    else {
      diagnostics.push({
        location: placeOf(map, '/extends')?.value,
        pointer: '/extends',
        message: '`extends` must be a file path or a list of file paths',
      })
      return undefined
    }
    let merged: Sourced | undefined = { value: {}, map: new Map() }
    for (const b of bases) {
      const target = resolve(dirname(abs), b.path)
      const loc = placeOf(map, b.ptr)?.value
      if (stack.includes(target)) {
        diagnostics.push({
          location: loc,
          pointer: b.ptr,
          message: `\`extends\` cycle: ${[...stack, target].map(displayPath).join(' -> ')}`,
          hint: 'remove one of the `extends` entries so the files form a chain',
        })
        merged = undefined
        continue
      }
      const before = diagnostics.length
      const base = load(target, [...stack, target])
      if (!base) {
        // Point a missing base at the `extends` line that names it.
        for (let i = before; i < diagnostics.length; i++) {
          const d = diagnostics[i]!
          if (d.location?.line === 0)
            diagnostics[i] = {
              ...d,
              location: loc,
              message: `cannot load \`extends\` file ${b.path}: ${d.message}`,
              hint: `\`extends\` paths are relative to the file that names them; this one is ${displayPath(target)}`,
            }
        }
        merged = undefined
        continue
      }
      if (merged) merged = deepMerge(merged, base)
    }
    if (!merged) return undefined
    const own = { ...value }
    delete own.extends
    const ownMap = new Map([...map].filter(([k]) => !(k === '/extends' || k.startsWith('/extends/'))))
    return deepMerge(merged, { value: own, map: ownMap })
  }

  const abs = resolve(file)
  const doc = load(abs, [abs])
  return { doc: diagnostics.length === 0 ? doc : undefined, diagnostics, texts, files }
}
