// lorapipe installed into a user's own project, as a user would: `npm pack` the workspace's
// `lorapipe` package (built JavaScript, no TypeScript sources), `npm install` the tarball into an
// empty folder outside the checkout (dependencies from npm's cache, filled by `npm ci`, else the
// registry), then `npx lorapipe` there, with custom stages beside the pipeline.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { needsShared, repoRoot, shared, sharedDir } from './support/shared.ts'
import { packAndInstall, sh } from './support/packed.ts'

describe('lorapipe installed into a project of its own', () => {
  test('npm pack + npm install <tarball>: npx lorapipe validates and runs a pipeline with custom stages', async (t) => {
    const base = mkdtempSync(join(tmpdir(), 'lorapipe-install-'))
    t.after(() => rmSync(base, { recursive: true, force: true })) // an installed project is ~200 MB
    // How long each step took, reported with the test (the whole suite must stay fast).
    const took: string[] = []
    let t0 = performance.now()
    const lap = (what: string) => {
      took.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      t0 = performance.now()
    }
    const installed = packAndInstall(base)
    if (typeof installed === 'string') return t.skip(installed)
    const { files, project } = installed
    assert.ok(files.includes('bin/lorapipe.js') && files.includes('dist/cli.js') && files.includes('dist/index.js') && files.includes('dist/stage-module-hooks.js'), files.join(' '))
    assert.deepEqual(files.filter((f) => (f.endsWith('.ts') && f !== 'dist/index.d.ts') || f === 'dist/inputs.json'), [], 'only built JavaScript (and its type declarations) is shipped')
    assert.ok(files.includes('dist/index.d.ts'), 'the declarations of `import ... from \'lorapipe\'` are shipped')
    lap('npm pack + npm install')

    // A user's project: stages and data beside the pipeline, nothing else of lorapipe's.
    cpSync(join(repoRoot, 'tests', 'fixtures', 'data'), join(project, 'data'), { recursive: true })
    mkdirSync(join(project, 'stages'))
    cpSync(join(repoRoot, 'tests', 'fixtures', 'stages', 'majority-baseline.ts'), join(project, 'stages', 'majority-baseline.ts')) // imports @lorapipe/core and effect/Schema
    const summarize = readFileSync(join(repoRoot, 'tests', 'fixtures', 'stages', 'summarize.ts'), 'utf8').replace("from '@lorapipe/core'", "from 'lorapipe'")
    assert.match(summarize, /from 'lorapipe'/)
    writeFileSync(join(project, 'stages', 'summarize.ts'), summarize)
    mkdirSync(join(project, 'pipelines'))
    cpSync(join(repoRoot, 'tests', 'fixtures', 'pipelines', 'baselines.yaml'), join(project, 'pipelines', 'my.yaml'))

    const npx = (args: string[]) => sh('npx', ['--no', 'lorapipe', ...args], project, 120_000)
    const valid = npx(['validate', 'pipelines/my.yaml'])
    assert.equal(valid.code, 0, valid.out)
    assert.match(valid.stdout, /is valid: pipeline `baselines`, 4 stages/)
    const run = npx(['run', 'pipelines/my.yaml', '--out', 'run', '-q'])
    assert.equal(run.code, 0, run.out)
    const table = JSON.parse(readFileSync(join(project, 'run', 'compare', 'comparison.json'), 'utf8')) as { rows: { method: string }[] }
    assert.equal(readFileSync(join(project, 'run', 'summary', 'summary.txt'), 'utf8'), `Tiny baselines: ${table.rows[0]!.method} wins with accuracy 0.6667\n`)
    lap('npx lorapipe validate + run')

    // The stage API under its public name, for the user's own scripts too.
    const api = sh(process.execPath, ['--input-type=module', '-e', "import('lorapipe').then((m) => console.log(typeof m.defineStage, typeof m.writeJsonAtomic))"], project)
    assert.equal(api.stdout.trim(), 'function function', api.out)
    assert.deepEqual(readdirSync(join(project, 'node_modules', 'lorapipe')).sort(), ['LICENSE', 'README.md', 'bin', 'dist', 'package.json'])

    // Training with the installed TensorFlow.js: the seed pipeline on the tiny fixture, 2 steps.
    if (!sharedDir) return t.diagnostic(`${took.join(', ')}; training part ${needsShared}`)
    cpSync(join(repoRoot, 'pipelines', 'sst2-lora.yaml'), join(project, 'pipelines', 'sst2-lora.yaml'))
    const train = npx([
      'run', 'pipelines/sst2-lora.yaml', '--out', 'train', '-q',
      '--set', `model.path=${shared('fixtures', 'tiny-distilbert')}`,
      '--set', `dataset.train.path=${shared('data', 'sst2', 'train.tsv')}`,
      '--set', `dataset.eval.path=${shared('data', 'sst2', 'dev.tsv')}`,
      '--set', 'dataset.train.limit=16', '--set', 'dataset.eval.limit=8',
      '--set', 'trainer.max_steps=2', '--set', 'trainer.batch_size=8', '--set', 'trainer.eval_every=2',
    ])
    assert.equal(train.code, 0, train.out)
    assert.ok(existsSync(join(project, 'train', 'adapter', 'adapter_config.json')), readdirSync(join(project, 'train')).join(' '))
    lap('npx lorapipe run (2 training steps)')
    t.diagnostic(took.join(', '))
  })
})
