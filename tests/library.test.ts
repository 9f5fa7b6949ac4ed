// lorapipe as a TypeScript library in a user's own project: the packed package installed from
// its tarball (tests/support/packed.ts), a consumer file type-checked with `tsc --strict` against
// the shipped declarations (dist/index.d.ts) and compiled, then run: it loads and validates
// pipelines (a file and an object), runs the bag-of-words fixture pipeline (a real if small
// training stage, no ../shared needed) receiving its events, stops a run through an AbortSignal,
// and runs a 2-trial sweep.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './support/shared.ts'
import { packAndInstall, sh } from './support/packed.ts'

const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')

/** The user's program: every part of the API, used as its types say. */
const consumer = `
import { existsSync, readFileSync } from 'node:fs'
import * as Effect from 'effect/Effect'
import * as Schema from 'effect/Schema'
import { defineStage, InvalidInput, loadPipeline, runPipeline, runSweep, validatePipeline, type Pipeline, type RunEvent, type RunOutcome, type SweepEvent, type SweepOutcome } from 'lorapipe'

// A stage defined in code: its parameters' type comes from the schema.
export const double = defineStage({
  name: 'double',
  params: Schema.Struct({ n: Schema.Number }),
  outputs: ['value'],
  run: (params, ctx) => Effect.succeed({ value: params.n * 2 + ctx.seed * 0 }),
})

// @ts-expect-error a Pipeline is made only by loadPipeline (its type is branded)
const forged: Pipeline = { name: 'x', file: 'x.yaml' }
void forged

async function main(): Promise<void> {
  const report: Record<string, unknown> = {}
  const p: Pipeline = await loadPipeline('pipelines/bow.yaml', { sets: ['stages.train.with.epochs=1'] })
  report.loaded = { name: p.name, stages: [...p.stages.keys()] }

  // An object made in code, with a typo: the same message and hint as the command's.
  const v = await validatePipeline({ name: 'typo', stages: { a: { uses: 'finetun' } } })
  report.invalid = v.valid ? 'valid?' : v.error.diagnostics.map((d) => \`\${d.message} / \${d.hint ?? ''}\`)
  const ok = await validatePipeline({ name: 'bow-object', seed: 13, stages: { train: { uses: './stages/bow-logreg.ts', with: { train: 'data/bow-train.tsv', eval: 'data/bow-dev.tsv', epochs: 1 } } } })
  report.object = ok.valid ? ok.pipeline.name : ok.error.message

  // A run: events by callback and by iteration, the outcome by await.
  const seen: RunEvent['_tag'][] = []
  const run = runPipeline(p, { out: 'run', onEvent: (e) => void seen.push(e._tag) })
  const evals: number[] = []
  for await (const e of run) if (e._tag === 'EvalMetrics') evals.push(e.metrics.accuracy ?? NaN)
  const outcome: RunOutcome = await run
  const train = outcome.stages.train
  report.run = { status: outcome.status, runDir: outcome.runDir, first: seen[0], last: seen.at(-1), evals, outputs: train?.status === 'done' ? train.outputs : train, report: outcome.report }
  report.metrics = JSON.parse(readFileSync('run/train/metrics.json', 'utf8'))

  // Bad input rejects with InvalidInput: the run folder already holds a run.
  try {
    await runPipeline(p, { out: 'run' })
    report.refused = 'not refused'
  } catch (e) {
    report.refused = e instanceof InvalidInput ? { tag: e._tag, message: e.message, hint: e.hint } : String(e)
  }

  // Aborting the signal stops the run cleanly, as Ctrl-C does: interrupted, resumable.
  const abort = new AbortController()
  const stopped = await runPipeline('pipelines/bow.yaml', { out: 'stopped', sets: ['vars.step_ms=40'], signal: abort.signal, onEvent: (e) => { if (e._tag === 'Progress' && e.step === 3) abort.abort() } })
  report.stopped = { status: stopped.status, resumable: existsSync('stopped/run.json') && !existsSync('stopped/train/stage.json') }

  // A sweep, each trial a \`lorapipe run\` of the installed package.
  const sweepEvents: SweepEvent['_tag'][] = []
  const s: SweepOutcome = await runSweep('sweeps/grid.yaml', { out: 'sweep', concurrency: 2, onEvent: (e) => void sweepEvents.push(e._tag) })
  report.sweep = { status: s.status, trials: s.leaderboard.rows.map((r) => [r.trial, r.state, r.objective]), best: s.best?.trial, bestFile: s.bestFile, events: [...new Set(sweepEvents)] }
  console.log(JSON.stringify(report))
}

await main()
`

describe('lorapipe used as a library', () => {
  test('the packed package type-checks a consumer under tsc --strict, and loads, validates, runs and sweeps through its API', async (t) => {
    const base = mkdtempSync(join(tmpdir(), 'lorapipe-library-'))
    t.after(() => rmSync(base, { recursive: true, force: true }))
    // How long each step took, reported with the test (the whole suite must stay fast).
    const took: string[] = []
    let t0 = performance.now()
    const lap = (what: string) => {
      took.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      t0 = performance.now()
    }
    const installed = packAndInstall(base)
    if (typeof installed === 'string') return t.skip(installed)
    lap('npm pack + npm install')
    const { files, project } = installed
    assert.ok(files.includes('dist/index.d.ts') && files.includes('LICENSE'), files.join(' '))

    // Publishable: not private, licensed, typed through its exports map.
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'lorapipe', 'package.json'), 'utf8'))
    assert.equal(pkg.private, undefined)
    assert.equal(pkg.license, 'MIT')
    assert.ok(pkg.repository?.url && pkg.keywords?.includes('lora') && pkg.engines?.node, JSON.stringify(pkg))
    assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' })

    // The user's project: data, the fixture stage (importing 'lorapipe'), a pipeline and a sweep file.
    cpSync(join(repoRoot, 'tests', 'fixtures', 'data'), join(project, 'data'), { recursive: true })
    mkdirSync(join(project, 'stages'))
    const stage = readFileSync(join(repoRoot, 'tests', 'fixtures', 'stages', 'bow-logreg.ts'), 'utf8').replace("from '@lorapipe/core'", "from 'lorapipe'")
    assert.match(stage, /from 'lorapipe'/)
    writeFileSync(join(project, 'stages', 'bow-logreg.ts'), stage)
    mkdirSync(join(project, 'pipelines'))
    writeFileSync(join(project, 'pipelines', 'bow.yaml'), readFileSync(join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow.yaml'), 'utf8'))
    mkdirSync(join(project, 'sweeps'))
    writeFileSync(
      join(project, 'sweeps', 'grid.yaml'),
      'name: grid\nbase: ../pipelines/bow.yaml\nmethod: grid\nmetric: {name: train.eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.optimizer: {values: [adam, sgd]}\n  stages.train.with.epochs: {value: 1}\n',
    )
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-project', private: true, type: 'module', dependencies: JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).dependencies }, null, 2))
    writeFileSync(join(project, 'main.ts'), consumer)

    // tsc --strict, the declarations included (no skipLibCheck); Node's types from the checkout's @types.
    const compiled = sh(process.execPath, [tsc, '--strict', '--noUncheckedIndexedAccess', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', join(repoRoot, 'node_modules', '@types'), '--types', 'node', '--outDir', 'out', 'main.ts'], project)
    assert.equal(compiled.code, 0, `tsc --strict failed:\n${compiled.out}`)
    lap('tsc --strict')

    const ran = sh(process.execPath, ['out/main.js'], project, 120_000)
    assert.equal(ran.code, 0, ran.out)
    lap('load, validate, run, sweep')
    t.diagnostic(took.join(', '))
    const r = JSON.parse(ran.stdout.trim().split('\n').at(-1)!)
    assert.deepEqual(r.loaded, { name: 'bow', stages: ['train'] })
    assert.deepEqual(r.invalid, ['unknown stage `finetun` / did you mean `finetune`?'])
    assert.equal(r.object, 'bow-object')

    assert.equal(r.run.status, 'succeeded')
    assert.equal(r.run.runDir, join(project, 'run'))
    assert.equal(r.run.first, 'RunStarted')
    assert.equal(r.run.last, 'RunFinished')
    // The events iterated are the run's: its evaluations are those metrics.json recorded.
    assert.deepEqual(r.run.evals, r.metrics.history.eval.map((e: { accuracy: number }) => e.accuracy))
    assert.ok(r.run.evals.length >= 1)
    assert.equal(r.run.outputs.metrics, join(project, 'run', 'train', 'metrics.json'))
    assert.equal(r.run.report, join(project, 'run', 'report.html'))

    assert.equal(r.refused.tag, 'InvalidInput')
    assert.match(r.refused.message, /already holds a run/)
    assert.match(r.refused.hint, /lorapipe run --resume/)

    assert.deepEqual(r.stopped, { status: 'interrupted', resumable: true })

    assert.equal(r.sweep.status, 'finished')
    assert.deepEqual(r.sweep.trials.map((x: unknown[]) => x[1]).sort(), ['completed', 'completed'])
    assert.equal(r.sweep.bestFile, join(project, 'sweep', 'best.yaml'))
    assert.ok(r.sweep.events.includes('SweepStarted') && r.sweep.events.includes('TrialFinished') && r.sweep.events.includes('SweepFinished'), r.sweep.events.join(' '))
  })
})
