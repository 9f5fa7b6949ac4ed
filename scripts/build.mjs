#!/usr/bin/env node
// Builds the JavaScript the `lorapipe` command runs: esbuild bundles the TypeScript sources of
// packages/{core,runner,queue,cli} into packages/lorapipe/dist, split into chunks that load on demand
// (`--help` loads a few kB, `validate` no TensorFlow.js). npm dependencies stay external: they are
// packages/lorapipe's dependencies, and `effect` must be the one copy that users' stages share.
// `npm ci` runs this (the root's `prepare`), and `npm pack -w lorapipe` (its `prepack`, --strict).
//
// dist/ is flat: cli.js (the command), index.js (the API that `lorapipe` and `@lorapipe/core`
// name), stage-module-hooks.js (core/src/stage/module-import.ts finds it and index.js beside
// itself), the chunks, and inputs.json: the source files the build read, which bin/lorapipe.js
// checks so that a build older than the sources never runs; and index.d.ts, index.js's
// declarations (package.json's `types`), with --strict (`npm pack`) or --types (below).
//
// Start-up: a chunk loads every module it reaches by static imports, including those an index
// re-exports that it does not use. Code on the way to `validate` and `--help` therefore imports
// core's modules by path (`@lorapipe/core/pipeline/load.ts`), not `@lorapipe/core`; check with
// `node scripts/bench-startup.mjs`.
//
// `node scripts/build.mjs [--outdir DIR] [--strict] [--types]`
import * as esbuild from 'esbuild'
import { builtinModules, createRequire } from 'node:module'
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const pkgDir = join(root, 'packages', 'lorapipe')
const args = process.argv.slice(2)
const outdirAt = args.indexOf('--outdir')
const outdir = outdirAt >= 0 && args[outdirAt + 1] ? resolve(args[outdirAt + 1]) : join(pkgDir, 'dist')
const strict = args.includes('--strict')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))

const builtins = new Set(builtinModules)
const packageName = (spec) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/')
const externals = new Set()
const bundledDeepImports = /^@tensorflow\/tfjs-core\/dist\//
// Plain-JavaScript libraries that `validate` needs, bundled into the chunks: loading them as
// packages means hundreds of files read, resolved and compiled one by one at every start (effect
// alone is ~160 ES modules, a third of `validate`'s time). Users' stages must share lorapipe's
// copy of effect: the build also writes it as modules of its own, effect.js (`effect`) and
// effect.<Module>.js (`effect/<Module>`), made from the same chunks, and the stage module hooks
// resolve users' imports of `effect` to them. (TensorFlow.js, ink and the rest load their own
// files and binaries.)
const bundledPackages = new Set(['yaml', 'ajv', 'fastest-levenshtein', 'effect'])

/** require() from the workspace root: the installed packages the build reads. */
const rootRequire = createRequire(join(root, 'package.json'))

const pure = new Map()
/** Whether an npm package declares itself free of side effects (package.json `sideEffects`). */
function isPure(name) {
  if (!pure.has(name)) {
    let sideEffects
    try {
      sideEffects = JSON.parse(readFileSync(rootRequire.resolve(`${name}/package.json`), 'utf8')).sideEffects
    } catch {} // no package.json export: assume side effects
    pure.set(name, sideEffects === false || (Array.isArray(sideEffects) && sideEffects.length === 0))
  }
  return pure.get(name)
}

/**
 * Workspace packages (@lorapipe/*) are bundled; everything else from npm stays an import. A
 * package that declares itself free of side effects (effect does) keeps that declaration, so a
 * module of ours that is bundled but unused (e.g. the Effect Schema based stage API, for
 * `validate`) does not drag its imports into the chunks that load.
 */
const externalDependencies = {
  name: 'external-dependencies',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (a) => {
      if (a.path.startsWith('node:') || builtins.has(a.path)) return { external: true }
      if (a.namespace === 'precompiled') return undefined // ajv's runtime helpers, bundled with the validators
      if (a.path.startsWith('@lorapipe/')) return undefined
      // tfjs-core's ES module files (the runner imports its gradient definitions one by one) use
      // extensionless imports, which only a bundler or tsx resolves: bundle them, with what they
      // import in turn.
      if (bundledDeepImports.test(a.path) || a.importer.includes('/node_modules/')) return undefined
      if (bundledPackages.has(packageName(a.path))) return undefined
      const name = packageName(a.path)
      externals.add(name)
      return { external: true, sideEffects: !isPure(name) }
    })
  },
}

/**
 * ajv standalone code for the schemas every run validates against (see
 * core/src/schema/precompiled.ts): the pipeline file's schema and the built-in stages' parameters,
 * taken from the sources, compiled with the same options, keyed by the same content hash.
 */
async function precompileValidators() {
  const entry = join(pkgDir, `.precompile-${process.pid}.mjs`)
  try {
    await esbuild.build({
      absWorkingDir: root,
      stdin: {
        contents: [
          "export { pipelineSchema } from '@lorapipe/core/pipeline/schema.ts'",
          "export { builtinSpecs } from '@lorapipe/core/stage/builtins.ts'",
          "export { ajvOptions, schemaKey } from '@lorapipe/core/schema/precompiled.ts'",
        ].join('\n'),
        resolveDir: root,
        loader: 'js',
      },
      outfile: entry,
      bundle: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'warning',
      plugins: [{ name: 'npm-external', setup: (b) => b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@lorapipe/') ? undefined : { external: true })) }],
    })
    const m = await import(pathToFileURL(entry).href)
    const ajvModule = (await import('ajv/dist/2020.js')).default
    const Ajv = ajvModule.default ?? ajvModule
    const standaloneModule = (await import('ajv/dist/standalone/index.js')).default
    const standalone = standaloneModule.default ?? standaloneModule
    const schemas = [[m.pipelineSchema(), false], ...m.builtinSpecs.map((spec) => [spec.params, true])]
    return schemas.map(([schema, useDefaults]) => {
      const ajv = new Ajv({ ...m.ajvOptions(useDefaults), code: { source: true, esm: true } })
      return { key: m.schemaKey(schema, useDefaults), code: standalone(ajv, ajv.compile(schema)) }
    })
  } finally {
    rmSync(entry, { force: true })
  }
}

const validators = await precompileValidators().catch((e) => {
  if (strict) throw e
  console.error(`build: warning: no precompiled validators (${e.message.split('\n')[0]}); lorapipe compiles the schemas when it starts`)
  return []
})

const precompiledValidators = {
  name: 'precompiled-validators',
  setup(build) {
    const declaration = 'export const precompiled: ReadonlyMap<string, ValidateFunction> = new Map()'
    build.onLoad({ filter: /[\\/]core[\\/]src[\\/]schema[\\/]precompiled\.ts$/ }, (a) => {
      const source = readFileSync(a.path, 'utf8')
      if (!source.includes(declaration)) throw new Error(`${a.path} no longer declares \`${declaration}\`, which the build replaces`)
      const imports = validators.map((_, i) => `import validate${i} from 'lorapipe-precompiled:${i}'`).join('\n')
      const entries = validators.map((v, i) => `[${JSON.stringify(v.key)}, validate${i} as unknown as ValidateFunction]`).join(', ')
      return { contents: `${imports}\n${source.replace(declaration, `${declaration.slice(0, -'new Map()'.length)}new Map([${entries}])`)}`, loader: 'ts' }
    })
    build.onResolve({ filter: /^lorapipe-precompiled:\d+$/ }, (a) => ({ path: a.path.slice('lorapipe-precompiled:'.length), namespace: 'precompiled' }))
    build.onLoad({ filter: /.*/, namespace: 'precompiled' }, (a) => ({ contents: validators[Number(a.path)].code, resolveDir: root, loader: 'js' }))
  },
}

/**
 * Modules of effect that are entries of their own besides the index: those lorapipe's sources
 * import. esbuild puts the modules that the same entries reach into one chunk; were the index the
 * only effect entry, Effect's core would share a chunk with Schema and fast-check, and `validate`
 * would load them all.
 */
const effectEntryModules = (() => {
  const found = new Set()
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name))
      else if (/\.tsx?$/.test(e.name)) for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/from 'effect\/(\w+)'/g)) found.add(m[1])
    }
  }
  for (const p of ['core', 'runner', 'queue', 'cli']) walk(join(root, 'packages', p, 'src'))
  return [...found].sort()
})()

/** The `effect` entries: the whole library (and effect.<Module>.js for effectEntryModules), from the chunks lorapipe's own code uses. */
const effectEntry = {
  name: 'effect-entry',
  setup(build) {
    build.onResolve({ filter: /^lorapipe-effect:\w+$/ }, (a) => ({ path: a.path.slice('lorapipe-effect:'.length), namespace: 'lorapipe-effect' }))
    build.onLoad({ filter: /.*/, namespace: 'lorapipe-effect' }, (a) => ({ contents: `export * from '${a.path === 'index' ? 'effect' : `effect/${a.path}`}'`, resolveDir: root, loader: 'js' }))
  },
}

/**
 * effect.<Module>.js for every `effect/<Module>` that effect's package.json exports: the module's
 * names, taken from the namespace that effect.js exports under that name (so, the same objects).
 */
async function effectModuleFiles() {
  const exported = Object.keys(JSON.parse(readFileSync(rootRequire.resolve('effect/package.json'), 'utf8')).exports)
  const index = await import('effect')
  const files = {}
  for (const sub of exported) {
    const name = sub.slice(2)
    if (!/^[A-Z]\w*$/.test(name) || effectEntryModules.includes(name)) continue // `.`, `./index` (effect.js itself), `./package.json`, entries
    const ns = index[name]
    if (!ns || typeof ns !== 'object') throw new Error(`effect exports ./${name}, but its index has no namespace ${name}`)
    const names = Object.keys(ns)
    files[`effect.${name}.js`] =
      `import { ${name} as M } from './effect.js'\n` +
      (names.length ? `const ${names.map((k, i) => `x${i} = M[${JSON.stringify(k)}]`).join(', ')}\nexport { ${names.map((k, i) => `x${i} as ${k}`).join(', ')} }\n` : 'export {}\n')
  }
  return files
}

const tmp = `${outdir}.tmp-${process.pid}`
rmSync(tmp, { recursive: true, force: true })
const result = await esbuild
  .build({
    absWorkingDir: root,
    entryPoints: {
      cli: 'packages/cli/src/main.ts',
      index: 'packages/lorapipe/src/index.ts',
      'stage-module-hooks': 'packages/core/src/stage/module-hooks.ts',
      effect: 'lorapipe-effect:index',
      ...Object.fromEntries(effectEntryModules.map((m) => [`effect.${m}`, `lorapipe-effect:${m}`])),
    },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    metafile: true,
    legalComments: 'none',
    // The bundled CommonJS libraries require() Node's built-ins; an ES module has no require.
    banner: { js: "import { createRequire as __lorapipeRequire } from 'node:module'; const require = __lorapipeRequire(import.meta.url);" },
    logLevel: 'warning',
    plugins: [precompiledValidators, effectEntry, externalDependencies],
  })
  .catch((e) => {
    // Sources that do not compile must not stop `npm ci`: without a build, bin/lorapipe.js runs
    // the sources through tsx, and whatever fails there fails with its own message (and tests).
    rmSync(tmp, { recursive: true, force: true })
    if (strict) throw e
    rmSync(outdir, { recursive: true, force: true })
    console.error(`build: warning: esbuild failed (above); removed ${relative(root, outdir)}, so lorapipe runs from its TypeScript sources until \`npm run build\` succeeds`)
    process.exit(0)
  })

// Every package the bundle imports, and every dependency of the bundled workspace packages (some
// are loaded with require(), which esbuild does not see), must be a dependency of the package
// that ships it. tsx only runs the sources in a checkout.
const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})])
const optional = new Set(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'tsx']) // tfjs-node: installed by the user to use it
const workspaceDeps = ['core', 'runner', 'queue', 'cli'].flatMap((p) => Object.keys(JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')).dependencies ?? {}))
// In a checkout the workspace's node_modules has them all, so `npm ci` only warns; a package made
// for installing elsewhere (`npm pack`, --strict) would fail there, so that is an error.
const undeclared = [...new Set([...externals, ...workspaceDeps])].filter((d) => !d.startsWith('@lorapipe/') && !bundledPackages.has(d) && !declared.has(d) && !optional.has(d)).sort()
if (undeclared.length > 0) {
  const message = `lorapipe's code needs ${undeclared.join(', ')}, which packages/lorapipe/package.json does not list in dependencies; add them there (same range as the workspace package that uses them)`
  if (strict) {
    rmSync(tmp, { recursive: true, force: true })
    console.error(`build: error: ${message}`)
    process.exit(1)
  }
  console.error(`build: warning: ${message}`)
}

// esbuild keeps an `import "./chunk.js"` (for its side effects) of every chunk that holds a module
// the importing chunk reaches, even one reached only through an index's re-exports that it does
// not use. Core declares itself free of side effects (its package.json), and so do effect and
// the packages it bundles (fast-check for Schema's arbitraries): a chunk made of such modules
// only is not worth loading for effect. Without this, `validate` would load Effect Schema and
// fast-check (2 MB) for nothing.
const inPurePackage = (input) => {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
  return m !== null && isPure(m[1])
}
const sideEffectFree = new Set(
  Object.entries(result.metafile.outputs)
    .filter(([, o]) => Object.keys(o.inputs).length > 0 && Object.keys(o.inputs).every((i) => i.startsWith('packages/core/src/') || inPurePackage(i)))
    .map(([file]) => file.slice(file.lastIndexOf('/') + 1)),
)
for (const file of Object.keys(result.metafile.outputs)) {
  const text = readFileSync(join(root, file), 'utf8')
  const pruned = text.replace(/^import "\.\/([\w.-]+\.js)";\n/gm, (line, chunk) => (sideEffectFree.has(chunk) ? '' : line))
  if (pruned !== text) writeFileSync(join(root, file), pruned)
}

for (const [file, text] of Object.entries(await effectModuleFiles())) writeFileSync(join(tmp, file), text)

// Type declarations of the package's API (dist/index.d.ts) for `npm pack` (--strict) or --types:
// rollup-plugin-dts has TypeScript emit the declarations of index.ts and of every module of ours
// they reach, and rolls them into one file; npm packages stay imports, and each must be a
// dependency of the package (a consumer's `tsc` resolves them from there). ~20 s, so not at `npm ci`.
if (strict || args.includes('--types')) {
  try {
    writeFileSync(join(tmp, 'index.d.ts'), await declarations())
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    console.error(`build: error: type declarations: ${e.message}`)
    process.exit(1)
  }
}

const inputs = [
  // Our sources only: the generated validators and the effect entry are not files (esbuild names
  // them `<namespace>:<path>`), and installed packages change only
  // through npm, which runs this build again (`prepare`).
  ...Object.keys(result.metafile.inputs).filter((i) => !/^[\w-]+:/.test(i) && !i.includes('node_modules/')),
  'scripts/build.mjs',
  'packages/lorapipe/package.json',
  ...['core', 'runner', 'queue', 'cli'].map((p) => `packages/${p}/package.json`),
].sort()
writeFileSync(join(tmp, 'inputs.json'), JSON.stringify({ root: relative(outdir, root) || '.', inputs }, null, 1) + '\n')

// Replace the old build only when something changed, so that lorapipe processes running from it
// meanwhile (tests run in parallel) keep finding their chunks; otherwise mark it current.
const same = existsSync(outdir) && sameTree(tmp, outdir)
if (same) {
  rmSync(tmp, { recursive: true, force: true })
  const now = new Date()
  utimesSync(join(outdir, 'inputs.json'), now, now)
} else {
  const old = `${outdir}.old-${process.pid}`
  if (existsSync(outdir)) renameSync(outdir, old)
  renameSync(tmp, outdir)
  rmSync(old, { recursive: true, force: true })
}
const files = Object.keys(result.metafile.outputs).length
console.log(`build: ${relative(root, outdir)}: ${files} files from ${Object.keys(result.metafile.inputs).length} sources${same ? ' (unchanged)' : ''}`)

async function declarations() {
  const { rollup } = await import('rollup')
  const { dts } = await import('rollup-plugin-dts')
  const workspace = Object.fromEntries(['core', 'runner', 'queue', 'cli'].flatMap((p) => [[`@lorapipe/${p}/*`, [`./packages/${p}/src/*`]]]))
  const imported = new Set()
  const bundle = await rollup({
    input: join(pkgDir, 'src', 'index.ts'),
    // Our packages as sources (not through node_modules, which TypeScript would take as a library's).
    plugins: [dts({ tsconfig: join(root, 'tsconfig.json'), compilerOptions: { baseUrl: root, paths: { '@lorapipe/core': ['./packages/core/src/index.ts'], ...workspace } } })],
    external: (id) => {
      if (id.startsWith('.') || id.startsWith('/') || id.startsWith('@lorapipe/')) return false
      imported.add(id)
      return true
    },
    onwarn: (w) => {
      throw new Error(w.message)
    },
  })
  const { output } = await bundle.generate({ format: 'es' })
  await bundle.close()
  const missing = [...imported].filter((id) => !id.startsWith('node:') && !builtins.has(id) && !declared.has(packageName(id)))
  if (missing.length > 0) throw new Error(`index.d.ts imports ${missing.join(', ')}, which packages/lorapipe/package.json does not list in dependencies`)
  return `// lorapipe's API: generated by scripts/build.mjs from packages/lorapipe/src/index.ts.\n${output[0].code}`
}

function sameTree(a, b) {
  const names = readdirSync(a).sort()
  if (names.join('\n') !== readdirSync(b).sort().join('\n')) return false
  return names.every((n) => {
    const [x, y] = [join(a, n), join(b, n)]
    if (statSync(x).isDirectory()) return statSync(y).isDirectory() && sameTree(x, y)
    return !statSync(y).isDirectory() && readFileSync(x).equals(readFileSync(y))
  })
}
