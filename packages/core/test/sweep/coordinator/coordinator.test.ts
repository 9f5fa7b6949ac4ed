// The sweep coordinator against an in-memory executor whose trials "train" by reporting scripted
// evaluations, and a trivial in-order sampler (the real samplers have their own tests). What is
// checked: concurrency, pruning, failures, stop conditions, the record and resuming from it.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Effect from 'effect/Effect'
import * as Either from 'effect/Either'
import * as Fiber from 'effect/Fiber'
import * as Layer from 'effect/Layer'
import type { RunEvent, SweepEvent } from '../../../src/index.ts'
import type { Pruner, Sampler, SearchSpace, TrialView } from '../../../src/sweep/model.ts'
import { runSweep, readSweepState, type SweepPlan } from '../../../src/sweep/coordinator/coordinator.ts'
import { TrialExecutor, type TrialOutcome, type TrialSpec } from '../../../src/sweep/coordinator/executor.ts'
import { readRecord, type RecordEntry } from '../../../src/sweep/coordinator/record.ts'
import { RECORD_FILE } from '../../../src/sweep/folder/layout.ts'
import type { ValidatedPipeline } from '../../../src/pipeline/types.ts'
import { history } from '../../../src/sweep/coordinator/state.ts'
import { tempDir } from '../../support.ts'

/** Tries the choices of the first parameter in order, each once. */
const inOrder: Sampler = {
  name: 'in-order',
  next(space, history) {
    const p = space[0]!
    if (p.domain.kind !== 'categorical') throw new Error('in-order needs a categorical parameter')
    const used = new Set(history.map((t) => JSON.stringify(t.assignment[p.name])))
    const v = p.domain.choices.find((c) => !used.has(JSON.stringify(c)))
    return v === undefined ? undefined : { [p.name]: v }
  },
}

const space = (xs: unknown[]): SearchSpace => [{ name: 'x', domain: { kind: 'categorical', choices: xs } }]

interface Script {
  /** Objective at each evaluation (steps 10, 20, ...); a string fails the trial with that message. */
  readonly evals: readonly number[] | string
}

/** A TrialExecutor that plays scripted trials (one per value of x) and logs what it was asked to do. */
function fakeExecutor(scripts: Record<string, Script>, log: { spec: TrialSpec; end: string }[], opts: { evalMs?: number; skipSteps?: (spec: TrialSpec) => number } = {}) {
  return Layer.succeed(TrialExecutor, {
    run: (spec, onEvent) =>
      Effect.gen(function* () {
        const entry = { spec, end: 'running' }
        log.push(entry)
        const script = scripts[String(spec.assignment.x)]!
        const ev = (e: Record<string, unknown>) => onEvent({ time: new Date().toISOString(), stage: 'train', ...e } as unknown as RunEvent)
        if (typeof script.evals === 'string') {
          entry.end = 'failed'
          return { status: 'failed', error: script.evals } as TrialOutcome
        }
        const from = spec.resume ? (opts.skipSteps?.(spec) ?? 0) : 0
        for (let i = 0; i < script.evals.length; i++) {
          const step = (i + 1) * 10
          yield* Effect.sleep(opts.evalMs ?? 5)
          if (step <= from) continue
          ev({ _tag: 'Progress', step, totalSteps: script.evals.length * 10 })
          ev({ _tag: 'EvalMetrics', step, epoch: 1, metrics: { accuracy: script.evals[i]!, loss: 1 - script.evals[i]! } })
        }
        entry.end = 'succeeded'
        return { status: 'succeeded' } as TrialOutcome
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => (log.at(-1)!.end = 'stopped')))),
  })
}

function plan(dir: string, xs: unknown[], over: Partial<SweepPlan> = {}): SweepPlan {
  return {
    sweep: 'test',
    file: join(dir, 'sweep.yaml'),
    dir,
    method: 'grid',
    space: space(xs),
    sampler: inOrder,
    metric: { name: 'eval_accuracy', goal: 'maximize' },
    concurrency: 1,
    base: join(dir, 'base.yaml'),
    // Stands for the base with the trial's value set (../trial.ts builds the real one).
    trialPipeline: (a) => Effect.succeed({ resolved: { x: a.x } } as unknown as ValidatedPipeline),
    ...over,
  }
}

const run = (p: SweepPlan, layer: Layer.Layer<TrialExecutor>) => Effect.runPromise(runSweep(p).pipe(Effect.provide(layer)))
const entries = (dir: string) => readRecord(join(dir, RECORD_FILE)).entries

describe('sweep coordinator', () => {
  const scripts: Record<string, Script> = {
    a: { evals: [0.5, 0.6, 0.7] },
    b: { evals: [0.6, 0.8, 0.9] },
    c: { evals: [0.1, 0.1, 0.1] },
    d: { evals: [0.55, 0.65, 0.75] },
    bad: { evals: 'RangeError: boom' },
  }

  it('runs every trial with concurrency 2, sampling with running trials in the history, and ranks them best first', async () => {
    const dir = tempDir()
    const log: { spec: TrialSpec; end: string }[] = []
    const seen: number[] = []
    const spy: Sampler = { name: 'spy', next: (s, h, g) => (seen.push(h.filter((t) => t.state === 'running').length), inOrder.next(s, h, g)) }
    const events: SweepEvent[] = []
    const r = await run(plan(dir, ['a', 'b', 'c', 'd'], { concurrency: 2, sampler: spy, sinks: [(e) => events.push(e)] }), fakeExecutor(scripts, log))
    assert.equal(r.status, 'finished')
    assert.match(r.reason, /every grid point was tried \(4 trials\)/)
    assert.deepEqual(r.leaderboard.rows.map((x) => [x.trial, x.state, x.objective]), [[1, 'completed', 0.9], [3, 'completed', 0.75], [0, 'completed', 0.7], [2, 'completed', 0.1]])
    assert.equal(r.best?.trial, 1)
    assert.deepEqual(r.leaderboard.rows[0]!.parameters, { x: 'b' })
    assert.equal(r.leaderboard.rows[0]!.run_dir, join('trials', '0001'))
    assert.ok(seen.includes(1), 'the second trial was sampled while the first was running')
    assert.equal(Math.max(...seen), 1, 'never more than concurrency - 1 running trials when sampling')
    assert.deepEqual(log.map((l) => [l.spec.trial, l.spec.resume, Either.getOrThrow(l.spec.pipeline).resolved]), [[0, false, { x: 'a' }], [1, false, { x: 'b' }], [2, false, { x: 'c' }], [3, false, { x: 'd' }]])
    const rec = entries(dir)
    assert.equal(rec.filter((e) => e.type === 'finished').length, 4)
    assert.equal(rec.filter((e) => e.type === 'metrics').length, 12)
    assert.deepEqual(rec.at(-1), { ...rec.at(-1), type: 'ended', status: 'finished' })
    assert.deepEqual(events.map((e) => e._tag).filter((t) => t !== 'TrialEvent').slice(0, 1), ['SweepStarted'])
    assert.equal(events.at(-1)!._tag, 'SweepFinished')
    assert.equal(events.filter((e) => e._tag === 'TrialMetrics').length, 12)
    const csv = readFileSync(join(dir, 'leaderboard.csv'), 'utf8').split('\n')
    assert.equal(csv[0], 'rank,trial,state,eval_accuracy,x,step,evaluations,duration_s,run_dir,reason')
    assert.match(csv[1]!, /^1,1,completed,0\.9,b,30,3,[\d.]+,trials\/0001,$/)
  })

  it('stops a trial the pruner prunes and records it as pruned with its last value', async () => {
    const dir = tempDir()
    const log: { spec: TrialSpec; end: string }[] = []
    // Prunes any trial whose objective is below 0.3 at its first evaluation.
    const pruner: Pruner = { name: 'floor', shouldPrune: (t: TrialView, i: number) => i === 1 && t.intermediate.get(1)! < 0.3 }
    const r = await run(plan(dir, ['a', 'c', 'b'], { pruner }), fakeExecutor(scripts, log, { evalMs: 20 }))
    assert.equal(r.status, 'finished')
    const c = r.leaderboard.rows.find((x) => x.trial === 1)!
    assert.equal(c.state, 'pruned')
    assert.equal(c.objective, 0.1)
    assert.equal(c.evaluations, 1)
    assert.match(c.reason!, /pruned at evaluation 1 \(step 10\) by floor/)
    assert.deepEqual(log.map((l) => l.end), ['succeeded', 'stopped', 'succeeded'])
    assert.deepEqual(r.leaderboard.rows.map((x) => x.state), ['completed', 'completed', 'pruned'])
  })

  it('records failed trials with their error and goes on; stops after too many failures in a row and says why', async () => {
    const dir = tempDir()
    const r = await run(plan(dir, ['a', 'bad', 'b']), fakeExecutor(scripts, []))
    assert.equal(r.status, 'finished')
    const bad = r.leaderboard.rows.find((x) => x.trial === 1)!
    assert.equal(bad.state, 'failed')
    assert.equal(bad.reason, 'RangeError: boom')
    assert.equal(r.leaderboard.rows.at(-1)!.trial, 1, 'failed trials rank last')

    const all = { ...scripts, bad2: scripts.bad!, bad3: scripts.bad! }
    const dir2 = tempDir()
    const log: { spec: TrialSpec; end: string }[] = []
    const r2 = await run(plan(dir2, ['bad', 'bad2', 'bad3', 'a'], { maxConsecutiveFailures: 2 }), fakeExecutor(all, log))
    assert.equal(r2.status, 'failed')
    assert.match(r2.reason, /^2 trials failed in a row \(the cap is 2\); the last one: RangeError: boom/)
    assert.equal(log.length, 2, 'no trial starts after the cap')
  })

  it('stops once a completed trial reaches the target', async () => {
    const dir = tempDir()
    const r = await run(plan(dir, ['a', 'b', 'c', 'd'], { metric: { name: 'eval_accuracy', goal: 'maximize', target: 0.85 } }), fakeExecutor(scripts, []))
    assert.equal(r.status, 'stopped')
    assert.match(r.reason, /trial 1 reached the target eval_accuracy >= 0\.85 \(0\.9\)/)
    assert.equal(r.leaderboard.rows.length, 2)
  })

  it('stops at run_cap; the metric may name its stage', async () => {
    const dir = tempDir()
    const r = await run(plan(dir, ['a', 'b', 'c', 'd'], { runCap: 3, metric: { name: 'train.eval_loss', goal: 'minimize' } }), fakeExecutor(scripts, []))
    assert.equal(r.status, 'finished')
    assert.match(r.reason, /run_cap reached \(3 trials\)/)
    assert.deepEqual(r.leaderboard.rows.map((x) => x.trial), [1, 0, 2])
    const other = await run(plan(tempDir(), ['a'], { metric: { name: 'eval.eval_loss', goal: 'minimize' } }), fakeExecutor(scripts, []))
    assert.equal(other.status, 'failed')
    assert.match(other.leaderboard.rows[0]!.reason!, /never reported eval\.eval_loss/)
  })

  it('resumes an interrupted sweep: finished trials are kept, the unfinished one continues, and the leaderboard equals an uninterrupted run', async () => {
    const xs = ['a', 'b', 'c', 'd']
    const whole = await run(plan(tempDir(), xs), fakeExecutor(scripts, []))

    const dir = tempDir()
    const log: { spec: TrialSpec; end: string }[] = []
    const layer = fakeExecutor(scripts, log, { evalMs: 15, skipSteps: () => 10 })
    const fiber = Effect.runFork(runSweep(plan(dir, xs)).pipe(Effect.provide(layer)))
    // Interrupt during trial 2, after its first evaluation was recorded.
    while (!entries(dir).some((e) => e.type === 'metrics' && e.trial === 2)) await new Promise((r) => setTimeout(r, 2))
    await Effect.runPromise(Fiber.interrupt(fiber))
    assert.equal(log.at(-1)!.end, 'stopped')
    const before = readSweepState(dir)
    assert.equal(before.trials.get(2)!.state, 'running')
    assert.equal(before.ended, undefined)
    // A kill can tear the last line: the resumed sweep drops it.
    appendFileSync(join(dir, RECORD_FILE), '{"type":"metrics","trial":2,"ke')

    const resumed = await run(plan(dir, xs), layer)
    assert.equal(resumed.status, 'finished')
    assert.deepEqual(
      resumed.leaderboard.rows.map((r) => [r.trial, r.state, r.objective, r.evaluations]),
      whole.leaderboard.rows.map((r) => [r.trial, r.state, r.objective, r.evaluations]),
    )
    assert.deepEqual(log.map((l) => [l.spec.trial, l.spec.resume]), [[0, false], [1, false], [2, false], [2, true], [3, false]])
    const starts = entries(dir).filter((e): e is Extract<RecordEntry, { type: 'started' }> => e.type === 'started')
    assert.deepEqual(starts.map((s) => [s.trial, s.resume]), [[0, false], [1, false], [2, false], [2, true], [3, false]])

    // Resuming a sweep that ended runs nothing.
    const n = log.length
    const again = await run(plan(dir, xs), layer)
    assert.equal(again.status, 'finished')
    assert.match(again.reason, /already ended/)
    assert.equal(log.length, n)
  })

  it('replays the pruner on resume: a trial the pruner had stopped just before the kill is recorded pruned, not rerun', async () => {
    const dir = tempDir()
    const pruner: Pruner = { name: 'floor', shouldPrune: (t: TrialView, i: number) => i === 1 && t.intermediate.get(1)! < 0.3 }
    const log: { spec: TrialSpec; end: string }[] = []
    const layer = fakeExecutor(scripts, log, { evalMs: 30 })
    // Without the pruner the first run records c's first evaluation and is then interrupted.
    const fiber = Effect.runFork(runSweep(plan(dir, ['c', 'a'])).pipe(Effect.provide(layer)))
    while (!entries(dir).some((e) => e.type === 'metrics' && e.trial === 0)) await new Promise((r) => setTimeout(r, 2))
    await Effect.runPromise(Fiber.interrupt(fiber))
    const r = await run(plan(dir, ['c', 'a'], { pruner }), layer)
    assert.deepEqual(r.leaderboard.rows.map((x) => [x.trial, x.state]), [[1, 'completed'], [0, 'pruned']])
    assert.deepEqual(log.map((l) => [l.spec.trial, l.spec.resume]), [[0, false], [1, false]])
  })

  it("a trial continued after its stage had finished (the sweep stopped just then) gets the evaluations it reported from its metrics.json, not only those the record had", async () => {
    const dir = tempDir()
    const runDir = join(dir, 'trials', '0000')
    const t0 = new Date().toISOString()
    // The record has the first of three evaluations; the stage wrote all three before the stop.
    const prior: RecordEntry[] = [
      { type: 'sweep', time: t0, sweep: 'test', method: 'grid', metric: { name: 'eval_accuracy', goal: 'maximize' }, concurrency: 1, resumed: false },
      { type: 'assigned', time: t0, trial: 0, assignment: { x: 'a' }, runDir },
      { type: 'started', time: t0, trial: 0, resume: false },
      { type: 'metrics', time: t0, trial: 0, key: 'train@10', evaluation: 1, step: 10, value: 0.5, metrics: { accuracy: 0.5 } },
    ]
    writeFileSync(join(dir, RECORD_FILE), prior.map((e) => JSON.stringify(e) + '\n').join(''))
    mkdirSync(join(runDir, 'train'), { recursive: true })
    const history = [0.5, 0.6, 0.7].map((accuracy, i) => ({ step: (i + 1) * 10, epoch: 1, loss: 1 - accuracy, accuracy, f1: accuracy }))
    writeFileSync(join(runDir, 'train', 'metrics.json'), JSON.stringify({ eval: history.at(-1), history: { train: [], eval: history } }))
    // Continued, the run reuses the finished stage and reports no evaluation.
    const reusing = Layer.succeed(TrialExecutor, { run: () => Effect.succeed({ status: 'succeeded' } as TrialOutcome) })
    const r = await run(plan(dir, ['a'], { metric: { name: 'eval_accuracy', goal: 'maximize', stage: 'train', key: 'accuracy' } }), reusing)
    assert.deepEqual(r.leaderboard.rows.map((x) => [x.trial, x.state, x.objective, x.evaluations, x.step]), [[0, 'completed', 0.7, 3, 30]])
    assert.deepEqual(entries(dir).filter((e) => e.type === 'metrics').map((e) => (e as { key: string }).key), ['train@10', 'train@20', 'train@30'])
  })

  it('a trial that could not write its folder (a full disk) is not failed: the sweep stops with SweepFolderUnwritable and the trial stays unfinished', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    for (const outcome of [Effect.die(full), Effect.succeed({ status: 'failed', error: 'exited with code 1\nerror: cannot write to /x/events.jsonl: no space left on the device (ENOSPC)' } as TrialOutcome)]) {
      const dir = tempDir()
      const r = await Effect.runPromise(Effect.either(runSweep(plan(dir, ['a', 'b'])).pipe(Effect.provide(Layer.succeed(TrialExecutor, { run: () => outcome })))))
      assert.equal(r._tag, 'Left')
      if (r._tag === 'Left') {
        assert.equal(r.left._tag, 'SweepFolderUnwritable')
        assert.match(r.left.message, /no space left on the device \(ENOSPC\)\. The sweep stopped; its record \(sweep\.jsonl\) holds every trial up to now: 0 finished; trial 0 is unfinished/)
      }
      const state = readSweepState(dir)
      assert.equal(state.trials.get(0)!.state, 'running')
      assert.equal(state.trials.size, 1, 'nothing more was started')
    }
  })

  it('asks through the search: the sampler sees what the record holds (evaluations, pruned values, failures), also after a resume', async () => {
    const views: TrialView[][] = []
    const spy: Sampler = { name: 'spy', next: (s, h, g) => (views.push(h.map((t) => ({ ...t, intermediate: new Map(t.intermediate) }))), inOrder.next(s, h, g)) }
    const pruner: Pruner = { name: 'floor', shouldPrune: (t: TrialView, i: number) => i === 1 && t.intermediate.get(1)! < 0.3 }
    const xs = ['a', 'c', 'bad', 'b', 'd']
    const fromRecord = (dir: string) => history(readSweepState(dir)).map((t) => [t.number, t.assignment, t.state, t.value, [...t.intermediate]])
    const seen = (h: TrialView[]) => h.map((t) => [t.number, t.assignment, t.state, t.value, [...t.intermediate]])

    const dir = tempDir()
    const layer = fakeExecutor(scripts, [], { evalMs: 15, skipSteps: () => 10 })
    const fiber = Effect.runFork(runSweep(plan(dir, xs, { sampler: spy, pruner, concurrency: 2 })).pipe(Effect.provide(layer)))
    while (!entries(dir).some((e) => e.type === 'metrics' && e.trial === 3)) await new Promise((r) => setTimeout(r, 2))
    await Effect.runPromise(Fiber.interrupt(fiber))
    const r = await run(plan(dir, xs, { sampler: spy, pruner, concurrency: 2 }), layer)
    assert.equal(r.status, 'finished')
    // The last ask (the grid's end, while the last trial ran) saw every trial as the record has
    // it: those finished before the kill came to the resumed sweep's search from the record.
    const last = views.at(-1)!
    assert.deepEqual(seen(last).slice(0, 4), fromRecord(dir).slice(0, 4))
    assert.deepEqual(last.map((t) => [t.assignment.x, t.state, t.value]), [['a', 'completed', 0.7], ['c', 'pruned', 0.1], ['bad', 'failed', undefined], ['b', 'completed', 0.9], ['d', 'running', undefined]])
  })

  it('does not resume a record whose trials the parameters cannot hold: it fails and says which trial', async () => {
    const dir = tempDir()
    await run(plan(dir, ['a', 'b']), fakeExecutor(scripts, []))
    // The record now names values the sweep no longer has (an edited record).
    const record = join(dir, RECORD_FILE)
    writeFileSync(record, readFileSync(record, 'utf8').replace(/"x":"b"/g, '"x":"zz"').split('\n').filter((l) => !l.includes('"type":"ended"')).join('\n'))
    const log: { spec: TrialSpec; end: string }[] = []
    const r = await run(plan(dir, ['a', 'b', 'c']), fakeExecutor(scripts, log))
    assert.equal(r.status, 'failed')
    assert.match(r.reason, /^trial 1 of .*sweep\.jsonl does not fit the sweep's parameters \(params\.x: "zz" is not one of its values \("a", "b", "c"\)\); start a new sweep$/)
    assert.equal(log.length, 0, 'no trial ran')
  })

  it('refuses a second coordinator on a sweep folder while the first runs', async () => {
    const dir = tempDir()
    const layer = fakeExecutor(scripts, [], { evalMs: 30 })
    const first = Effect.runFork(runSweep(plan(dir, ['a', 'b'])).pipe(Effect.provide(layer)))
    while (!entries(dir).some((e) => e.type === 'started')) await new Promise((r) => setTimeout(r, 2))
    const second = await Effect.runPromise(Effect.either(runSweep(plan(dir, ['a', 'b'])).pipe(Effect.provide(layer))))
    assert.equal(second._tag, 'Left')
    if (second._tag === 'Left') {
      assert.equal(second.left._tag, 'SweepFolderBusy')
      assert.match(second.left.message, new RegExp(`the sweep in .* is being run by .*${process.pid}`))
    }
    const r = await Effect.runPromise(Fiber.join(first))
    assert.equal(r.status, 'finished')
    // Released at the end: the folder can be resumed (here: it has ended, so nothing runs).
    assert.match((await run(plan(dir, ['a', 'b']), layer)).reason, /already ended/)
  })
})
