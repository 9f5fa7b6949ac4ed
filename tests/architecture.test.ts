// The shape of the source (packages/*/src and the launchers in packages/*/bin): packages in layers
// that import only downward (core < runner < queue < cli < lorapipe), and no file that imports
// another which imports it back. Every arrow counts: static imports, `export ... from`,
// `import('...')` with a literal, type-only imports too (a type import still ties two modules).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { repoRoot } from './support/shared.ts'

/** Lowest first; a package may import only from packages before it. Absent ones are skipped. */
const LAYERS = ['core', 'runner', 'queue', 'cli', 'lorapipe'] as const

interface Import {
  readonly from: string
  readonly line: number
  readonly specifier: string
  readonly to: string
}

const packagesDir = join(repoRoot, 'packages')
const packages = readdirSync(packagesDir).filter((p) => existsSync(join(packagesDir, p, 'package.json')))
const packageNames = new Map(packages.map((p) => [JSON.parse(readFileSync(join(packagesDir, p, 'package.json'), 'utf8')).name as string, p]))

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (/\.(tsx?|m?js)$/.test(name) && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** The source: each package's src/ and its bin/ (the launcher is code that imports too). */
const files = packages.flatMap((p) => [...walk(join(packagesDir, p, 'src')), ...walk(join(packagesDir, p, 'bin'))]).sort()
const fileSet = new Set(files)
const rel = (f: string) => relative(repoRoot, f)
const packageOf = (f: string) => relative(packagesDir, f).split('/')[0]!

function resolveFile(base: string): string | undefined {
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) if (fileSet.has(candidate)) return candidate
  return undefined
}

/** The source file a specifier names, '' for a workspace file that does not exist, undefined for anything outside the source. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return resolveFile(resolve(dirname(from), specifier))
  const [scopeOrName, ...rest] = specifier.split('/')
  const name = scopeOrName!.startsWith('@') ? `${scopeOrName}/${rest.shift()}` : scopeOrName!
  const pkg = packageNames.get(name)
  if (pkg === undefined) return undefined
  return resolveFile(join(packagesDir, pkg, 'src', rest.length > 0 ? rest.join('/') : 'index.ts')) ?? ''
}

const unresolved: string[] = []
const imports: Import[] = files.flatMap((from) => {
  const text = readFileSync(from, 'utf8')
  const lineAt = (pos: number) => text.slice(0, pos).split('\n').length
  return ts.preProcessFile(text, true, true).importedFiles.flatMap((i): Import[] => {
    const to = resolveSpecifier(from, i.fileName)
    if (to === '') unresolved.push(`${rel(from)}:${lineAt(i.pos)} imports ${i.fileName}, which is no file of the workspace`)
    return to ? [{ from, line: lineAt(i.pos), specifier: i.fileName, to }] : []
  })
})

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
function cycles(): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]))
  for (const i of imports) next.get(i.from)!.push(i.to)
  // Tarjan's algorithm, iterative (the graph is deep enough to make recursion a risk).
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const out: string[][] = []
  for (const start of files) {
    if (index.has(start)) continue
    const work: Array<{ node: string; edge: number }> = [{ node: start, edge: 0 }]
    index.set(start, counter), low.set(start, counter++), stack.push(start), onStack.add(start)
    while (work.length > 0) {
      const top = work[work.length - 1]!
      const edges = next.get(top.node)!
      if (top.edge < edges.length) {
        const to = edges[top.edge++]!
        if (!index.has(to)) {
          index.set(to, counter), low.set(to, counter++), stack.push(to), onStack.add(to)
          work.push({ node: to, edge: 0 })
        } else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!))
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!))
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = []
        let f: string
        do {
          f = stack.pop()!
          onStack.delete(f)
          component.push(f)
        } while (f !== top.node)
        if (component.length > 1 || edges.includes(top.node)) out.push(component.map(rel).sort())
      }
    }
  }
  return out
}

function describeCycle(component: readonly string[]): string {
  const inside = new Set(component)
  const arrows = imports
    .filter((i) => inside.has(rel(i.from)) && inside.has(rel(i.to)))
    .map((i) => `    ${rel(i.from)}:${i.line} imports ${i.specifier}`)
  return `  a cycle of ${component.length} files:\n${component.map((f) => `    ${f}`).join('\n')}\n  through:\n${arrows.join('\n')}`
}

describe('the architecture of the source', () => {
  it('finds the source it checks (each package with a src folder, imports resolved)', () => {
    assert.ok(files.length > 100, `only ${files.length} source files found under packages/*/src`)
    assert.ok(imports.length > files.length, `only ${imports.length} imports found`)
    assert.deepEqual(unresolved, [], `imports of workspace files that do not exist:\n${unresolved.join('\n')}`)
  })

  it('places every package in the layers core < runner < queue < cli < lorapipe', () => {
    const unplaced = packages.filter((p) => !(LAYERS as readonly string[]).includes(p))
    assert.deepEqual(unplaced, [], `packages/${unplaced.join(', packages/')} has no place in the layer order; add it to LAYERS in tests/architecture.test.ts`)
  })

  it('no file imports another that imports it back, directly or through others', () => {
    const found = cycles()
    assert.equal(found.length, 0, `import cycles:\n${found.map(describeCycle).join('\n\n')}`)
  })

  it('a package imports only from the packages below it: core nothing from runner, queue, cli or lorapipe; runner nothing from queue, cli or lorapipe; queue nothing from cli or lorapipe; cli nothing from lorapipe', () => {
    const rank = (f: string) => LAYERS.indexOf(packageOf(f) as (typeof LAYERS)[number])
    const upward = imports.filter((i) => rank(i.to) > rank(i.from))
    assert.deepEqual(
      upward.map((i) => `${rel(i.from)}:${i.line} imports ${i.specifier} (${packageOf(i.from)} -> ${packageOf(i.to)})`),
      [],
      'imports from a lower package into a higher one',
    )
  })

  it('a package exports only files that exist (build outputs in dist/ aside: `npm run build` writes them)', () => {
    const missing = packages.flatMap((p) => {
      const exports = JSON.parse(readFileSync(join(packagesDir, p, 'package.json'), 'utf8')).exports ?? {}
      // A target is a path, or conditions (`types`, `default`) each naming one.
      const targets = (t: unknown): string[] => (typeof t === 'string' ? [t] : t !== null && typeof t === 'object' ? Object.values(t).flatMap(targets) : [])
      return Object.entries(exports as Record<string, unknown>)
        .flatMap(([key, t]) => targets(t).map((target) => [key, target] as const))
        .filter(([, target]) => !target.startsWith('./dist/') && !existsSync(join(packagesDir, p, target.replace(/\/\*$/, ''))))
        .map(([key, target]) => `packages/${p}/package.json exports "${key}" as ${target}, which does not exist`)
    })
    assert.deepEqual(missing, [])
  })
  it('ARCHITECTURE.md names only folders and files that exist (its map matches the code)', () => {
    const doc = readFileSync(join(repoRoot, 'ARCHITECTURE.md'), 'utf8')
    // Paths as the map writes them: `packages/<p>/src/...`, or `<package>/...` below packages/<package>/src.
    const named = [...doc.matchAll(/(?:packages\/)?\b(core|runner|queue|cli)\/([\w./-]*[\w/])/g)].map((m) => ({ text: m[0], paths: [join(packagesDir, m[1]!, m[2]!), join(packagesDir, m[1]!, 'src', m[2]!)] }))
    assert.ok(named.length > 30, `found only ${named.length} paths in ARCHITECTURE.md`)
    const missing = [...new Set(named.filter((n) => !n.paths.some((p) => existsSync(p))).map((n) => n.text))]
    assert.deepEqual(missing, [], 'ARCHITECTURE.md names paths that do not exist')
  })
})
