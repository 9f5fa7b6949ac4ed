// The ask/tell API as a user's own TypeScript project uses it: `import { createSearch } from
// 'lorapipe'` resolved to the built package (dist/index.js and its declarations, dist/index.d.ts),
// type-checked by TypeScript in strict mode, compiled, and run with plain node.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createSearch } from '../packages/core/src/sweep/search/search.ts'
import { repoRoot } from './support/shared.ts'

const pkg = join(repoRoot, 'packages', 'lorapipe')

/** Whether dist/ was built from the sources as they are (bin/lorapipe.js's own test). */
function buildIsCurrent(): boolean {
  try {
    const manifest = JSON.parse(readFileSync(join(pkg, 'dist', 'inputs.json'), 'utf8')) as { root: string; inputs: string[] }
    const built = statSync(join(pkg, 'dist', 'inputs.json')).mtimeMs
    const root = resolve(pkg, 'dist', manifest.root)
    return existsSync(join(pkg, 'dist', 'index.d.ts')) && manifest.inputs.every((f) => statSync(join(root, f)).mtimeMs <= built)
  } catch {
    return false
  }
}

const user = `
import { createSearch, SearchInvalid, type AskedTrial, type Search, type SearchParameters } from 'lorapipe'

const parameters: SearchParameters = {
  lr: { distribution: 'log_uniform_values', min: 1e-6, max: 1e-1 },
  r: { values: [4, 8, 16, 32] },
}
const search: Search = createSearch({ method: 'tpe', seed: 0, goal: 'minimize', parameters })
for (let i = 0; i < 15; i++) {
  const trial: AskedTrial = search.ask()
  const lr = trial.params['lr'] as number
  if (i === 3) search.tell(trial.number, { state: 'failed' })
  else search.tell(trial.number, (Math.log10(lr) + 3) ** 2 + (trial.params['r'] === 16 ? 0 : 1))
}
const best = search.best!
console.log(JSON.stringify({ trials: search.trials.map((t) => [t.params, t.state, t.value ?? null]), best: best.number }))
try {
  createSearch({ method: 'gp', parameters: { lr: { distribution: 'log_uniform_values', min: 0, max: 1 } } })
} catch (e) {
  if (e instanceof SearchInvalid) console.log(e.message.split('\\n')[1]!.trim())
}
`

describe('createSearch from the built lorapipe package, in a TypeScript project of its own', () => {
  test('type-checks (strict), compiles and runs, with the same trials as the sources give; a wrong method is a type error', (t) => {
    if (!buildIsCurrent()) {
      // The build the package ships, with its declarations (as `npm pack` makes them).
      const b = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--types'], { cwd: repoRoot, encoding: 'utf8', timeout: 300_000 })
      assert.equal(b.status, 0, `${b.stdout}\n${b.stderr}`)
    }
    const project = mkdtempSync(join(tmpdir(), 'lorapipe-search-'))
    t.after(() => rmSync(project, { recursive: true, force: true }))
    // node_modules/lorapipe as npm links a package; its own dependencies resolve from where it lies.
    mkdirSync(join(project, 'node_modules', '@types'), { recursive: true })
    symlinkSync(pkg, join(project, 'node_modules', 'lorapipe'), 'dir')
    symlinkSync(join(repoRoot, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'), 'dir')
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-search', private: true, type: 'module' }))
    const compilerOptions = { strict: true, noUncheckedIndexedAccess: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out', types: ['node'], skipLibCheck: true }
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }))
    writeFileSync(join(project, 'main.ts'), user)
    const tsc = (dir: string) => spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 })

    const compiled = tsc(project)
    assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr)
    const ran = spawnSync(process.execPath, [join(project, 'out', 'main.js')], { cwd: project, encoding: 'utf8', timeout: 60_000 })
    assert.equal(ran.status, 0, ran.stderr)
    const [line, invalid] = ran.stdout.trim().split('\n')
    const got = JSON.parse(line!) as { trials: [Record<string, unknown>, string, number | null][]; best: number }

    // The same loop on the sources.
    const s = createSearch({ method: 'tpe', seed: 0, goal: 'minimize', parameters: { lr: { distribution: 'log_uniform_values', min: 1e-6, max: 1e-1 }, r: { values: [4, 8, 16, 32] } } })
    for (let i = 0; i < 15; i++) {
      const trial = s.ask()
      if (i === 3) s.tell(trial.number, { state: 'failed' })
      else s.tell(trial.number, (Math.log10(trial.params['lr'] as number) + 3) ** 2 + (trial.params['r'] === 16 ? 0 : 1))
    }
    assert.deepEqual(got.trials, s.trials.map((x) => [x.params, x.state, x.value ?? null]))
    assert.equal(got.best, s.best!.number)
    assert.equal(invalid, 'parameters.lr.min: `log_uniform_values` needs `min` > 0, not 0 (a log scale starts above zero, e.g. `min: 1.0e-5`)')

    // The declarations are real types, not `any`: a method that does not exist does not compile.
    const wrong = join(project, 'wrong')
    mkdirSync(wrong)
    copyFileSync(join(project, 'package.json'), join(wrong, 'package.json'))
    symlinkSync(join(project, 'node_modules'), join(wrong, 'node_modules'), 'dir')
    writeFileSync(join(wrong, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, files: ['main.ts'] }))
    writeFileSync(join(wrong, 'main.ts'), "import { createSearch } from 'lorapipe'\ncreateSearch({ method: 'bayes', parameters: { lr: { min: 0, max: 1 } } }).ask().number.toFixed()\n")
    const refused = tsc(wrong)
    assert.notEqual(refused.status, 0)
    assert.match(refused.stdout, /main\.ts\(2,.*error TS2322: Type '"bayes"' is not assignable to type 'SearchMethod'/)
  })
})
