// The executor enforces the stage contract: a stage succeeds with nothing or an object of outputs
// (strings, numbers, booleans, null) and every declared output; it may not end the process; and
// one that can never settle fails instead of leaving Node to exit 13. The run "succeeded" only
// when every stage is done.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { BuiltinStages, eventsLayer, runPipeline, type RunEvent, type StageRun } from '../../src/index.ts'
import { loadOk, tempDir, writeFiles } from '../support.ts'

const coreSrc = resolve(fileURLToPath(new URL('../../src/', import.meta.url)))

async function run(file: string, builtins: ReadonlyMap<string, StageRun<any>> = new Map()) {
  const events: RunEvent[] = []
  const layer = Layer.merge(eventsLayer([(e) => events.push(e)]), Layer.succeed(BuiltinStages, builtins))
  const runDir = tempDir()
  const result = await Effect.runPromise(runPipeline(await loadOk(file), { runDir }).pipe(Effect.provide(layer)))
  return { result, events, runDir }
}

const finished = (events: RunEvent[]) => events.filter((e) => e._tag === 'RunFinished').map((e) => (e as { status: string }).status)

// Should the watch fail, a stage's process.exit(0) would end this test process "successfully":
// make that a failure the test runner sees.
const realExit = process.exit
const onExit = () => {
  process.exitCode = 1
  process.stderr.write('process.exit from a stage went through\n')
}
before(() => process.on('exit', onExit))
after(() => process.off('exit', onExit))

describe('what a stage returns', () => {
  // One `compare` stage per case; the implementation returns the value named by its only run.
  const cases: Record<string, [unknown, string | undefined]> = {
    number: [42, 'returned the number 42; a stage returns nothing or an object of outputs (json: …, markdown: …) whose values are strings, numbers, booleans or null'],
    string: ['done\u001b[2J', 'returned the string "done\\u001b[2J"; '],
    array: [['a', 'b'], 'returned an array (["a","b"]); '],
    map: [new Map(), 'returned an instance of Map; '],
    func: [function outputs() {}, 'returned a function (outputs); '],
    nul: [null, 'returned null; '],
    effect: [Effect.succeed({ json: 'j', markdown: 'm' }), 'returned an Effect (as a value, not run: yield* it, or return it from run itself); '],
    nested: [{ json: { a: 1 }, markdown: 'm' }, 'returned an object whose output `json` is an object ({"a":1}); '],
    nan: [{ json: Number.NaN, markdown: Number.POSITIVE_INFINITY }, 'returned an object whose output `json` is the number NaN (JSON cannot hold it), output `markdown` is the number Infinity (JSON cannot hold it); '],
    missing: [{ json: 'x' }, 'returned no value for its declared output markdown'],
    nothing: [undefined, 'returned nothing, but it declares the outputs json, markdown'],
    long: ['x'.repeat(500), 'returned the string "' + 'x'.repeat(58) + '…; '],
    ok: [{ json: 'j.json', markdown: 'm.md', rows: 3, best: null, fine: true }, undefined],
    bare: [Object.assign(Object.create(null), { json: 'j', markdown: 'm' }), undefined],
  }
  const echo: StageRun<any> = (p: { runs: Record<string, string> }) => Effect.sync(() => cases[Object.keys(p.runs)[0]!]![0] as never)

  test('anything but nothing or an object of outputs fails the stage with what it returned and what is expected', async () => {
    const stages = Object.keys(cases).map((c) => `  ${c}:\n    uses: compare\n    with: { runs: { ${c}: in.json } }\n`)
    const dir = writeFiles({ 'p.yaml': `name: g\nstages:\n${stages.join('')}` })
    const { result, events, runDir } = await run(join(dir, 'p.yaml'), new Map([['compare', echo]]))
    for (const [c, [, expected]] of Object.entries(cases)) {
      const r = result.stages.get(c)!
      if (expected === undefined) {
        assert.equal(r.status, 'done', c)
        assert.ok(existsSync(join(runDir, c, 'stage.json')))
        continue
      }
      assert.equal(r.status, 'failed', c)
      assert.ok((r as { error: string }).error.startsWith(expected), `${c}: ${(r as { error: string }).error}`)
      assert.doesNotMatch((r as { error: string }).error, /\x1b/)
      assert.equal(existsSync(join(runDir, c, 'stage.json')), false, `${c} has no completion record`)
    }
    assert.equal(result.status, 'failed')
    assert.deepEqual(finished(events), ['failed'])
  })

  test('a stage without declared outputs may return nothing', async () => {
    const dir = writeFiles({ 'quiet.mjs': "export default { name: 'quiet', params: { type: 'object' }, run: async () => {} }\n", 'p.yaml': 'name: g\nstages:\n  a:\n    uses: ./quiet.mjs\n' })
    const { result, events } = await run(join(dir, 'p.yaml'))
    assert.deepEqual(result.stages.get('a'), { status: 'done', outputs: {} })
    assert.deepEqual(finished(events), ['succeeded'])
  })
})

describe('a stage that calls process.exit', () => {
  test('fails, named, with the code, while the stages beside it finish; process.exit is itself again after the run', async () => {
    const dir = writeFiles({
      'exit.mjs': "import * as Effect from 'effect/Effect'\nexport default { name: 'exit', params: { type: 'object' }, run: () => Effect.sync(() => { process.exit(0); return {} }) }\n",
      'wait.mjs': "export default { name: 'wait', params: { type: 'object' }, outputs: ['ms'], run: () => new Promise((r) => setTimeout(() => r({ ms: 100 }), 100)) }\n",
      'p.yaml': 'name: g\nstages:\n  bad:\n    uses: ./exit.mjs\n  good:\n    uses: ./wait.mjs\n',
    })
    const { result, events } = await run(join(dir, 'p.yaml'))
    assert.equal(result.stages.get('bad')?.status, 'failed')
    assert.match((result.stages.get('bad') as { error: string }).error, /^called process\.exit\(0\)/)
    assert.deepEqual(result.stages.get('good'), { status: 'done', outputs: { ms: 100 } })
    assert.deepEqual(finished(events), ['failed'])
    assert.equal(process.exit, realExit)
  })
})

// Code that runs outside any fiber (a timer) and calls process.exit: what the watch throws has no
// one above it to catch it, and a test runner's own handler would take it for the test's error.
// So these run in a program of their own that uses the executor, as a library user's would.
describe('in a program of its own that uses the executor', () => {
  test('a process.exit from a timer fails the stage whose code it was; never settling fails the stage instead of exiting 13; a slow stage is left alone', () => {
    const dir = writeFiles({
      'never.mjs': "import * as Effect from 'effect/Effect'\nexport default { name: 'never', params: { type: 'object', properties: { promise: { type: 'boolean' } } }, run: (p) => (p.promise ? new Promise(() => {}) : Effect.never) }\n",
      'slow.mjs': "export default { name: 'slow', params: { type: 'object' }, outputs: ['ms'], run: () => new Promise((r) => setTimeout(() => r({ ms: 300 }), 300)) }\n",
      'timer.mjs': "export default { name: 'timer', params: { type: 'object', properties: { exit: { type: 'boolean' } } }, outputs: ['ok'], run: (p) => new Promise((r) => setTimeout(() => { if (p.exit) process.exit(3); r({ ok: true }) }, p.exit ? 20 : 150)) }\n",
      // The timer starts when the module is imported, outside any stage; it calls process.exit
      // once both stages have started (a fixed delay would race the loading of the pipeline on a busy machine).
      'stray.mjs': "let started = 0\nconst t = setInterval(() => { if (started === 2) { clearInterval(t); process.exit(5) } }, 20)\nt.unref()\nexport default { name: 'stray', params: { type: 'object' }, run: () => { started++; return new Promise((r) => setTimeout(r, 400)) } }\n",
      'p1.yaml': 'name: g\nstages:\n  effect:\n    uses: ./never.mjs\n  promise:\n    uses: ./never.mjs\n    with: { promise: true }\n  slow:\n    uses: ./slow.mjs\n  quits:\n    uses: ./timer.mjs\n    with: { exit: true }\n  stays:\n    uses: ./timer.mjs\n',
      'p2.yaml': 'name: g\nstages:\n  one:\n    uses: ./stray.mjs\n  two:\n    uses: ./stray.mjs\n',
      'host.mts': `import * as Effect from ${JSON.stringify(import.meta.resolve('effect/Effect'))}
import * as Layer from ${JSON.stringify(import.meta.resolve('effect/Layer'))}
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BuiltinStages, eventsLayer, loadPipeline, runPipeline } from ${JSON.stringify(join(coreSrc, 'index.ts'))}
const exit = process.exit
const layer = Layer.merge(eventsLayer([]), Layer.succeed(BuiltinStages, new Map()))
const results = []
for (const file of ['p1.yaml', 'p2.yaml']) {
  const p = await Effect.runPromise(loadPipeline(join(import.meta.dirname, file)))
  const r = await Effect.runPromise(runPipeline(p, { runDir: mkdtempSync(join(tmpdir(), 'lorapipe-host-')) }).pipe(Effect.provide(layer)))
  results.push({ status: r.status, stages: Object.fromEntries(r.stages) })
}
console.log(JSON.stringify({ results, exitRestored: process.exit === exit }))
`,
    })
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'host.mts')], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(r.status, 0, r.stderr)
    type Out = { status: string; stages: Record<string, { status: string; error?: string; outputs?: unknown }> }
    const { results, exitRestored } = JSON.parse(r.stdout) as { results: [Out, Out]; exitRestored: boolean }
    const [first, second] = results
    assert.equal(first.status, 'failed')
    assert.equal(first.stages.effect?.error, 'never settled: its Effect neither succeeded nor failed, and nothing is left for it to wait for')
    assert.equal(first.stages.promise?.error, 'never settled: its Promise neither succeeded nor failed, and nothing is left for it to wait for')
    assert.deepEqual(first.stages.slow, { status: 'done', outputs: { ms: 300 } })
    assert.match(first.stages.quits?.error ?? '', /^called process\.exit\(3\)/)
    assert.deepEqual(first.stages.stays, { status: 'done', outputs: { ok: true } }, 'the other stage of the same module is not blamed')
    for (const id of ['one', 'two']) {
      assert.equal(second.stages[id]?.error, 'called process.exit(5): one of the stages running then did (`one`, `two`), lorapipe cannot tell which')
    }
    assert.equal(exitRestored, true, 'process.exit is itself again after the runs')
  })
})
