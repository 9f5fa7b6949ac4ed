// Node module hooks (module.register) for users' stage modules, which live anywhere: beside a
// pipeline in a folder with no package.json and no node_modules of its own.
//  - `lorapipe` and `@lorapipe/core` resolve to the API of the lorapipe that is running (one copy
//    of the stage API in the process), and `effect` to lorapipe's own copy, whatever the user's
//    folder holds: Effect values only run in the runtime of the copy that made them.
//  - `.ts` and `.mts` files are compiled to ES modules by esbuild (types stripped, no type check),
//    whatever the folder's package.json says, so a stage needs no build step and no package.json.
// lorapipe's own files and installed packages (node_modules) are left to Node and tsx.
// This module runs on Node's hooks thread; it must not import lorapipe's code.
import { readFile } from 'node:fs/promises'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface StageModuleHooksData {
  /** URL of the stage API module that `lorapipe` and `@lorapipe/core` resolve to */
  readonly api: string
  /** a URL inside lorapipe's installation, from which `effect` is resolved */
  readonly anchor: string
  /**
   * In the bundle: the URL of effect.js, the copy of effect that lorapipe's code is built with
   * (`effect/<Module>` is effect.<Module>.js beside it). Running from the sources, effect is the
   * installed package, resolved from `anchor`.
   */
  readonly effect?: string
  /** URL prefixes of lorapipe's own code (not users' files) */
  readonly own: readonly string[]
}

interface ResolveContext {
  parentURL?: string
  conditions: string[]
  importAttributes?: Record<string, string>
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<{ url: string; format?: string | null }>
interface LoadContext {
  format?: string | null
  conditions: string[]
  importAttributes?: Record<string, string>
}
type NextLoad = (url: string, context?: LoadContext) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array | null }>

let data: StageModuleHooksData | undefined

export function initialize(d: StageModuleHooksData): void {
  data = d
}

/** A user's file: not lorapipe's own code and not an installed package. */
function isUserFile(url: string | undefined): url is string {
  return !!data && !!url && url.startsWith('file:') && !url.includes('/node_modules/') && !data.own.some((p) => url.startsWith(p))
}

const isApi = (s: string) => s === 'lorapipe' || s === '@lorapipe/core'
const isEffect = (s: string) => s === 'effect' || s.startsWith('effect/')
const isTypeScript = (url: string) => /\.m?ts$/.test(new URL(url).pathname)

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve) {
  if (!data || !isUserFile(context.parentURL)) return next(specifier, context)
  // through the rest of the chain, so that tsx compiles the API module when lorapipe runs from its sources
  if (isApi(specifier)) return next(data.api, { ...context, parentURL: data.anchor })
  if (isEffect(specifier)) {
    if (!data.effect) return next(specifier, { ...context, parentURL: data.anchor })
    const sub = specifier.slice('effect/'.length)
    return next(specifier === 'effect' || sub === 'index' ? data.effect : new URL(`./effect.${sub}.js`, data.effect).href, context)
  }
  try {
    return await next(specifier, context)
  } catch (e) {
    // TypeScript's convention: `./helper.js` in a .ts file names ./helper.ts.
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && /^\.\.?\/.*\.m?js$/.test(specifier) && isTypeScript(context.parentURL!)) {
      return next(specifier.replace(/js$/, 'ts'), context)
    }
    throw e
  }
}

export async function load(url: string, context: LoadContext, next: NextLoad) {
  if (!isUserFile(url)) return next(url, context)
  if (isTypeScript(url)) return compileTypeScript(fileURLToPath(url))
  const ext = extname(new URL(url).pathname)
  if (ext === '.mjs' || (ext === '.js' && (await isEsModule(fileURLToPath(url))))) {
    return { format: 'module', source: await readFile(fileURLToPath(url), 'utf8'), shortCircuit: true }
  }
  return next(url, context)
}

/**
 * A `.js` file is an ES module when the nearest package.json says `"type": "module"`, or, with no
 * `type` there (or no package.json at all, the usual case beside a pipeline), when it has
 * `import`/`export` statements. tsx, which runs lorapipe from its sources, would otherwise take
 * it for CommonJS.
 */
async function isEsModule(file: string): Promise<boolean> {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const type = await readFile(join(dir, 'package.json'), 'utf8').then(
      (t) => {
        try {
          return (JSON.parse(t) as { type?: string }).type ?? null
        } catch {
          return null // Node itself reports a broken package.json
        }
      },
      () => undefined,
    )
    if (type === 'module') return true
    if (type === 'commonjs') return false
    if (type === null || dirname(dir) === dir) break
  }
  return /^\s*(import\s*[\w{*'"]|export\s)/m.test(await readFile(file, 'utf8'))
}

async function compileTypeScript(file: string) {
  const { transform } = await import('esbuild')
  try {
    const out = await transform(await readFile(file, 'utf8'), {
      loader: 'ts',
      format: 'esm',
      target: `node${process.versions.node}`,
      sourcefile: file,
      sourcemap: 'inline',
    })
    return { format: 'module', source: out.code, shortCircuit: true }
  } catch (e) {
    // esbuild's message starts with "Transform failed with 1 error:"; say where and what instead.
    const first = (e as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors?.[0]
    if (!first) throw e
    const at = first.location ? `:${first.location.line}:${first.location.column + 1}` : ''
    throw new SyntaxError(`${file}${at}: ${first.text}`)
  }
}
