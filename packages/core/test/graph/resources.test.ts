// Stages that train or evaluate declare the `compute` resource; by default the executor runs one
// of them at a time, so two trainings never share the CPU, while light stages still run beside
// them. `concurrency` overrides the default for compute stages too.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Effect from 'effect/Effect'
import * as Layer from 'effect/Layer'
import { BuiltinStages, builtinSpec, eventsLayer, runPipeline, type RunEvent, type StageRun } from '../../src/index.ts'
import { loadOk, tempDir, writeFiles } from '../support.ts'

const fixtures = resolve(fileURLToPath(new URL('../../../../tests/fixtures/stages', import.meta.url)))

// Built-in stages stand in with a timed body: the schedule, not the work, is under test here.
const timed = (ms: number, out: Record<string, string>): StageRun<any> => () => Effect.sleep(ms).pipe(Effect.as(out))
const builtins = new Map<string, StageRun<any>>([
  ['finetune', timed(40, { dir: 'd', metrics: 'm.json', adapter_dir: 'a', model_dir: 'x' })],
  ['evaluate', timed(40, { metrics: 'm.json' })],
  ['compare', timed(15, { json: 'c.json', markdown: 'c.md' })],
])

const job = `model: { path: ./m, num_labels: 2 }
lora: { target_modules: [q_lin] }
dataset: { train: { path: t.tsv }, eval: { path: d.tsv } }
trainer: { epochs: 1 }
`
const pipeline = `name: sched
${job}stages:
  lora: { uses: finetune }
  full: { uses: finetune, with: { lora: null } }
  score: { uses: evaluate }
  custom: { uses: ${join(fixtures, 'compute-slow.ts')}, with: { steps: 2, step_ms: 20 } }
  table1: { uses: compare, with: { runs: { x: a.json } } }
  table2: { uses: compare, with: { runs: { x: b.json } } }
`
const compute = new Set(['lora', 'full', 'score', 'custom'])

/** [stage, start index, finish index] in the recorded event order. */
async function schedule(concurrency?: number): Promise<Map<string, [number, number]>> {
  const events: RunEvent[] = []
  const layer = Layer.merge(eventsLayer([(e) => events.push(e)]), Layer.succeed(BuiltinStages, builtins))
  const p = await loadOk(join(writeFiles({ 'p.yaml': pipeline }), 'p.yaml'))
  const r = await Effect.runPromise(runPipeline(p, { runDir: tempDir(), ...(concurrency ? { concurrency } : {}) }).pipe(Effect.provide(layer)))
  assert.equal(r.status, 'succeeded')
  const spans = new Map<string, [number, number]>()
  events.forEach((e, i) => {
    if (e._tag === 'StageStarted') spans.set(e.stage, [i, -1])
    if (e._tag === 'StageFinished') spans.get(e.stage)![1] = i
  })
  return spans
}

const overlap = (a: [number, number], b: [number, number]) => a[0] < b[1] && b[0] < a[1]

describe('compute resource', () => {
  test('finetune, evaluate and export declare compute; compare is light', () => {
    assert.deepEqual(['finetune', 'evaluate', 'export', 'compare'].map((n) => builtinSpec(n)?.resource), ['compute', 'compute', 'compute', undefined])
  })

  test('by default no two compute stages overlap, and light stages run beside them', async () => {
    const spans = await schedule()
    assert.equal(spans.size, 6)
    const ids = [...spans.keys()]
    for (const a of ids) for (const b of ids) {
      if (a < b && compute.has(a) && compute.has(b)) assert.equal(overlap(spans.get(a)!, spans.get(b)!), false, `${a} and ${b} overlapped`)
    }
    const firstCompute = ids.filter((i) => compute.has(i)).map((i) => spans.get(i)!).sort((x, y) => x[0] - y[0])[0]!
    for (const light of ['table1', 'table2']) assert.ok(overlap(spans.get(light)!, firstCompute), `${light} waited for a compute stage`)
  })

  test('--concurrency lets compute stages overlap up to the bound', async () => {
    const spans = await schedule(4)
    const c = [...compute].map((i) => spans.get(i)!)
    assert.ok(c.some((a, i) => c.some((b, j) => i < j && overlap(a, b))), 'with concurrency 4 compute stages run together')
  })
})
