// The executor: stages run after their needs, independent stages run concurrently, outputs flow
// into later stages' parameters, a failure skips only its dependents, interruption releases
// resources and writes no completion record, and a resumed run reuses completed stages.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Effect from 'effect/Effect'
import * as Fiber from 'effect/Fiber'
import * as Layer from 'effect/Layer'
import { BuiltinStages, compileGraph, eventsLayer, isTempFile, runPipeline, type RunEvent, type StageRun } from '../../src/index.ts'
import { loadOk, tempDir, writeFiles } from '../support.ts'

const fixtures = resolve(fileURLToPath(new URL('../../../../tests/fixtures/stages', import.meta.url)))
const slow = join(fixtures, 'slow.ts')

function collect(builtins: ReadonlyMap<string, StageRun<any>> = new Map()) {
  const events: RunEvent[] = []
  const layer = Layer.merge(eventsLayer([(e) => events.push(e)]), Layer.succeed(BuiltinStages, builtins))
  return { events, layer }
}

const tags = (events: RunEvent[], stage?: string) => events.filter((e) => stage === undefined || ('stage' in e && e.stage === stage)).map((e) => e._tag)

describe('execution graph', () => {
  test('waves group stages that can run together; the order respects needs', async () => {
    const dir = writeFiles({
      'p.yaml': `name: g\nstages:\n  c:\n    uses: ${slow}\n    needs: [a, b]\n    with: { steps: 1 }\n  a:\n    uses: ${slow}\n    with: { steps: 1 }\n  b:\n    uses: ${slow}\n    with: { steps: 1 }\n`,
    })
    const g = compileGraph(await loadOk(join(dir, 'p.yaml')))
    assert.deepEqual(g.waves, [['a', 'b'], ['c']])
    assert.deepEqual(g.order, ['a', 'b', 'c'])
    assert.deepEqual(g.dependents.get('a'), ['c'])
  })

  test('independent stages overlap; a dependent starts only after its needs finished', async () => {
    const dir = writeFiles({
      'p.yaml': `name: g\nstages:\n  a:\n    uses: ${slow}\n    with: { steps: 4, step_ms: 30 }\n  b:\n    uses: ${slow}\n    with: { steps: 4, step_ms: 30 }\n  c:\n    uses: ${slow}\n    needs: [a, b]\n    with: { steps: 1, step_ms: 0 }\n`,
    })
    const p = await loadOk(join(dir, 'p.yaml'))
    const { events, layer } = collect()
    const runDir = tempDir()
    const result = await Effect.runPromise(runPipeline(p, { runDir }).pipe(Effect.provide(layer)))
    assert.equal(result.status, 'succeeded')
    const seq = events.filter((e) => e._tag === 'StageStarted' || e._tag === 'StageFinished').map((e) => `${e._tag === 'StageStarted' ? '+' : '-'}${(e as { stage: string }).stage}`)
    assert.deepEqual(seq.slice(0, 2).sort(), ['+a', '+b'], 'a and b both start before either finishes')
    assert.deepEqual(seq.slice(4), ['+c', '-c'])
    for (const id of ['a', 'b', 'c']) assert.ok(existsSync(join(runDir, id, 'stage.json')))
  })

  test('outputs of a stage are substituted into the parameters of the stages after it', async () => {
    const seen: unknown[] = []
    const echo: StageRun<any> = (params) => Effect.sync(() => (seen.push(params), { json: `${params.metric}-out`, markdown: 'm.md' }))
    const dir = writeFiles({
      'p.yaml': 'name: g\nstages:\n  a:\n    uses: compare\n    with: { runs: { x: in.json }, metric: f1 }\n  b:\n    uses: compare\n    with:\n      runs: { x: "${stages.a.outputs.json}", y: "dir/${stages.a.outputs.markdown}" }\n',
    })
    const { layer } = collect(new Map([['compare', echo]]))
    const r = await Effect.runPromise(runPipeline(await loadOk(join(dir, 'p.yaml')), { runDir: tempDir() }).pipe(Effect.provide(layer)))
    assert.equal(r.status, 'succeeded')
    assert.deepEqual(seen[1], { runs: { x: 'f1-out', y: 'dir/m.md' }, metric: 'accuracy' })
  })

  test('a failed stage skips its dependents, lets unrelated stages finish, and the run fails', async () => {
    const dir = writeFiles({
      'p.yaml': `name: g\nstages:\n  bad:\n    uses: ${slow}\n    with: { steps: 3, step_ms: 1, fail_at: 2 }\n  after:\n    uses: ${slow}\n    needs: bad\n    with: { steps: 1 }\n  other:\n    uses: ${slow}\n    with: { steps: 2, step_ms: 20 }\n`,
    })
    const { events, layer } = collect()
    const runDir = tempDir()
    const r = await Effect.runPromise(runPipeline(await loadOk(join(dir, 'p.yaml')), { runDir }).pipe(Effect.provide(layer)))
    assert.equal(r.status, 'failed')
    assert.deepEqual(r.stages.get('bad'), { status: 'failed', error: 'slow: failing at step 2 as asked' })
    assert.deepEqual(r.stages.get('after'), { status: 'skipped', reason: 'needs `bad`, which failed' })
    assert.equal(r.stages.get('other')?.status, 'done')
    assert.equal(existsSync(join(runDir, 'bad', 'stage.json')), false)
    assert.equal(existsSync(join(runDir, 'bad', 'slow.lock')), false, 'the scoped lock is released on failure')
    assert.equal(events.at(-1)?._tag, 'RunFinished')
  })

  test('interruption stops running stages, releases their resources and leaves no completion record', async () => {
    const dir = writeFiles({
      'p.yaml': `name: g\nstages:\n  long:\n    uses: ${slow}\n    with: { steps: 1000, step_ms: 10 }\n  next:\n    uses: ${slow}\n    needs: long\n    with: { steps: 1 }\n`,
    })
    const { events, layer } = collect()
    const runDir = tempDir()
    const fiber = Effect.runFork(runPipeline(await loadOk(join(dir, 'p.yaml')), { runDir }).pipe(Effect.provide(layer)))
    while (!events.some((e) => e._tag === 'Progress')) await new Promise((r) => setTimeout(r, 5))
    assert.ok(existsSync(join(runDir, 'long', 'slow.lock')), 'the lock is held while running')
    await Effect.runPromise(Fiber.interrupt(fiber))
    assert.equal(existsSync(join(runDir, 'long', 'slow.lock')), false, 'the scoped lock is released')
    assert.equal(existsSync(join(runDir, 'long', 'stage.json')), false)
    assert.equal(existsSync(join(runDir, 'long', 'result.json')), false)
    assert.deepEqual(tags(events, 'long').filter((t) => t !== 'Progress'), ['StageStarted', 'StageInterrupted'])
    assert.deepEqual(tags(events, 'next'), [])
    const last = events.at(-1)!
    assert.equal(last._tag, 'RunFinished')
    assert.equal((last as { status: string }).status, 'interrupted')
    assert.deepEqual(readdirSync(join(runDir, 'long')).filter(isTempFile), [])
  })

  test('a resumed run reuses stages that completed and runs the rest', async () => {
    const dir = writeFiles({
      'p.yaml': `name: g\nstages:\n  first:\n    uses: ${slow}\n    with: { steps: 1, step_ms: 1 }\n  second:\n    uses: ${slow}\n    needs: first\n    with: { steps: 1, step_ms: 1 }\n`,
    })
    const p = await loadOk(join(dir, 'p.yaml'))
    const runDir = tempDir()
    await Effect.runPromise(runPipeline(p, { runDir }).pipe(Effect.provide(collect().layer)))
    const before = readFileSync(join(runDir, 'first', 'stage.json'), 'utf8')
    const { events, layer } = collect()
    const r = await Effect.runPromise(runPipeline(p, { runDir, resume: true }).pipe(Effect.provide(layer)))
    assert.equal(r.status, 'succeeded')
    assert.deepEqual(r.stages.get('first'), { status: 'done', outputs: JSON.parse(before).outputs, cached: true })
    assert.deepEqual(tags(events, 'first'), ['StageFinished'])
  })

  test('a stage that does not return a declared output fails with the output named', async () => {
    const dir = writeFiles({ 'p.yaml': 'name: g\nstages:\n  a:\n    uses: compare\n    with: { runs: { x: in.json } }\n' })
    const { layer } = collect(new Map([['compare', () => Effect.succeed({ json: 'x' })]]))
    const r = await Effect.runPromise(runPipeline(await loadOk(join(dir, 'p.yaml')), { runDir: tempDir() }).pipe(Effect.provide(layer)))
    assert.deepEqual(r.stages.get('a'), { status: 'failed', error: 'returned no value for its declared output markdown' })
  })

  test('a built-in stage without an implementation fails clearly instead of pretending to run', async () => {
    const dir = writeFiles({ 'p.yaml': 'name: g\nstages:\n  a:\n    uses: compare\n    with: { runs: { x: in.json } }\n' })
    const r = await Effect.runPromise(runPipeline(await loadOk(join(dir, 'p.yaml')), { runDir: tempDir() }).pipe(Effect.provide(collect().layer)))
    assert.deepEqual(r.stages.get('a'), { status: 'failed', error: 'built-in stage `compare` is not available in this installation of lorapipe' })
  })
})
