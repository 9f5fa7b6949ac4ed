// `lorapipe sweep` end to end on a bare clone: trials of the bag-of-words fixture pipeline
// (tests/fixtures/pipelines/bow.yaml, a real if small training run), each a `lorapipe run` in its
// own process. Trials are one epoch (2 evaluations) so the whole file stays fast.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, lorapipeAsync, startLorapipe } from './support/cli.ts'
import { repoRoot } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-sweep-'))
const base = join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow.yaml')
const short = ['--set', 'stages.train.with.epochs=1']

function sweepFile(dir: string, body: string): string {
  const f = join(dir, 'sweep.yaml')
  writeFileSync(f, `name: bow-sweep\nbase: ${base}\nmetric: {name: eval_accuracy, goal: maximize}\n${body}`)
  return f
}

interface Entry {
  type: string
  trial?: number
  resume?: boolean
  state?: string
  value?: number
  status?: string
}
const record = (dir: string): Entry[] => readFileSync(join(dir, 'sweep.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
interface Row {
  trial: number
  state: string
  objective?: number
  parameters: Record<string, unknown>
  step: number
  evaluations: number
  run_dir: string
  reason?: string
}
const board = (dir: string): Row[] => JSON.parse(readFileSync(join(dir, 'leaderboard.json'), 'utf8')).rows
/** What must be equal between an interrupted-and-resumed sweep and an uninterrupted one. */
const outcome = (dir: string) => board(dir).map((r) => [r.trial, r.state, r.objective, r.parameters, r.evaluations])

function waitFor(cond: () => boolean, what: string, child: { exitCode: number | null }): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const poll = setInterval(() => {
      let ok = false
      try {
        ok = cond()
      } catch {
        ok = false
      }
      if (ok) {
        clearInterval(poll)
        resolve()
      } else if (child.exitCode !== null || Date.now() - t0 > 120_000) {
        clearInterval(poll)
        reject(new Error(`the sweep ended before ${what}`))
      }
    }, 10)
  })
}

describe('lorapipe sweep (bag-of-words fixture, no ../shared needed)', () => {
  it('runs a grid with concurrency 2: trials that throw or are killed are recorded as failed, and the sweep finishes with the full leaderboard and a best.yaml that runs', async () => {
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(
      dir,
      `method: grid
parameters:
  stages.train.with.learning_rate: {values: [0.05, 0.2]}
  stages.train.with.label_column: {values: [label, sentiment]}
`,
    )
    const child = startLorapipe(['sweep', f, '--concurrency', '2', '--out', out, ...short, '--set', 'vars.step_ms=30'])
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    // Trial 0 is killed from outside (as the kernel's OOM killer would) while it trains.
    await waitFor(() => readFileSync(join(out, 'trials', '0000', 'events.jsonl'), 'utf8').includes('"RunStarted"'), 'trial 0 started', child)
    process.kill(Number(readFileSync(join(out, 'trials', '.0000.pid'), 'utf8')), 'SIGKILL')
    const code = await new Promise((res) => child.on('close', res))
    assert.equal(code, 0, stderr)
    assert.match(stdout, /sweep bow-sweep: grid over stages\.train\.with\.learning_rate, stages\.train\.with\.label_column; maximize eval_accuracy; up to 4 trials, 2 at a time/)
    assert.match(stdout, /\[trial 0002\] started: stages\.train\.with\.learning_rate=0\.2 stages\.train\.with\.label_column=label/)
    assert.match(stdout, /\[trial 0002\] eval 2 \(step 40\): eval_accuracy 0\.\d{4}/)
    assert.match(stdout, /sweep finished in .*: every grid point was tried \(4 trials\); best: trial 2/)
    assert.match(stdout, /best: trial 2; run it with: lorapipe run .*best\.yaml/)
    // The column the data does not have fails those trials at run time; the sweep goes on.
    assert.match(stderr, /\[trial 000\d\] failed after .*:\n {4}.*needs columns `sentence` and `sentiment`/)
    assert.match(stderr, /\[trial 0000\] failed after .*:\n {4}killed by SIGKILL/)
    assert.doesNotMatch(stdout + stderr, /\x1b\[/, 'no escape codes when not a terminal')

    const rows = board(out)
    assert.deepEqual(rows.map((x) => [x.trial, x.state]), [[2, 'completed'], [0, 'failed'], [1, 'failed'], [3, 'failed']])
    assert.match(rows[1]!.reason!, /^killed by SIGKILL \(out of memory, or killed from outside\)/)
    for (const row of rows.slice(2)) {
      assert.equal(row.parameters['stages.train.with.label_column'], 'sentiment')
      assert.match(row.reason!, /stage `train` failed: .*sentiment/)
    }
    const won = rows[0]!
    assert.equal(won.evaluations, 2)
    // An ordinary run folder: `lorapipe report` and `run --resume` read it.
    for (const file of ['run.json', 'config.resolved.yaml', 'events.jsonl', 'train/stage.json', 'train/metrics.json', 'report.html']) assert.ok(existsSync(join(out, won.run_dir, file)), `${won.run_dir}/${file}`)
    const m = JSON.parse(readFileSync(join(out, won.run_dir, 'train', 'metrics.json'), 'utf8'))
    assert.equal(m.eval.accuracy, won.objective, "the objective is the trial's last evaluation")
    const csv = readFileSync(join(out, 'leaderboard.csv'), 'utf8').trim().split('\n')
    assert.equal(csv[0], 'rank,trial,state,eval_accuracy,stages.train.with.learning_rate,stages.train.with.label_column,step,evaluations,duration_s,run_dir,reason')
    assert.equal(csv.length, 5)
    for (const file of ['sweep.json', 'sweep.resolved.yaml', 'events.jsonl']) assert.ok(existsSync(join(out, file)), file)
    const rec = record(out)
    assert.equal(rec.filter((e) => e.type === 'assigned').length, 4)
    assert.deepEqual(rec.at(-1)!.status, 'finished')

    // best.yaml validates (run checks it first) and, run on its own, reproduces the winner's number (same seed).
    const again = join(dir, 'again')
    const run = await lorapipeAsync(['run', join(out, 'best.yaml'), '--out', again, '-q'], { cwd: tmpdir() })
    assert.equal(run.code, 0, run.stderr)
    assert.equal(JSON.parse(readFileSync(join(again, 'train', 'metrics.json'), 'utf8')).eval.accuracy, won.objective)
  })

  it('runs a `method: gp` sweep: parameters drawn in their domains, two trials at a time, all completed', async () => {
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(
      dir,
      `method: gp
run_cap: 3
seed: 5
parameters:
  stages.train.with.learning_rate: {distribution: log_uniform_values, min: 0.01, max: 0.3}
  stages.train.with.batch_size: {values: [8, 16]}
`,
    )
    const r = await lorapipeAsync(['sweep', f, '--concurrency', '2', '--out', out, ...short])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /sweep bow-sweep: gp over stages\.train\.with\.learning_rate, stages\.train\.with\.batch_size; maximize eval_accuracy; up to 3 trials, 2 at a time/)
    assert.match(r.stdout, /run_cap reached \(3 trials\); best: trial \d/)
    const rows = board(out)
    assert.deepEqual(rows.map((x) => x.state), ['completed', 'completed', 'completed'])
    for (const row of rows) {
      const lr = row.parameters['stages.train.with.learning_rate'] as number
      assert.ok(lr >= 0.01 && lr <= 0.3, `learning rate ${lr}`)
      assert.ok([8, 16].includes(row.parameters['stages.train.with.batch_size'] as number))
    }
    assert.equal(new Set(rows.map((x) => x.parameters['stages.train.with.learning_rate'])).size, 3, 'three different configurations')
  })

  it('ranks a tie on the metric by cost (fewer steps first), the same in leaderboard.csv, best.yaml, the summary and the report', async () => {
    const dir = tmp()
    const out = join(dir, 'out')
    // Learning rates so small that nothing moves: both trials score the same, trial 0 at twice the steps.
    const f = sweepFile(
      dir,
      `method: grid
parameters:
  cost:
    together:
      - { stages.train.with.learning_rate: 1.0e-12, stages.train.with.epochs: 2 }
      - { stages.train.with.learning_rate: 2.0e-12, stages.train.with.epochs: 1 }
`,
    )
    const r = await lorapipeAsync(['sweep', f, '--out', out])
    assert.equal(r.code, 0, r.stderr)
    const rows = board(out)
    assert.equal(rows[0]!.objective, rows[1]!.objective, 'the trials tie on the metric')
    assert.deepEqual(rows.map((x) => [x.trial, x.step]), [[1, 40], [0, 80]])
    const csv = readFileSync(join(out, 'leaderboard.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 2).join(','))
    assert.deepEqual(csv, ['1,1', '2,0'])
    const best = readFileSync(join(out, 'best.yaml'), 'utf8')
    assert.match(best, /^# The best trial \(1, eval_accuracy /)
    // The stage has no `trainer` section: no `--set trainer.epochs` suggestion that would do nothing.
    assert.doesNotMatch(best, /--set trainer/)
    assert.match(r.stdout, /best: trial 1; run it with/)
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    const table = /<table class="leaderboard">.*?<\/table>/s.exec(html)![0]
    assert.deepEqual([...table.matchAll(/<tr( class="best")?><td>(\d+)<\/td><td>(?:★ )?(\d+)<\/td>/g)].map((m) => [m[2], m[3], m[1] !== undefined]), [['1', '1', true], ['2', '0', false]])
  })

  it('refuses an invalid sweep before any trial: exit 2, nothing written', () => {
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(dir, `method: grid\nparameters:\n  stages.train.with.lerning_rate: {values: [0.05]}\n`)
    const r = lorapipe(['sweep', f, '--out', out])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /sweep\.yaml:\d+:\d+: error: .*lerning_rate/)
    assert.match(r.stderr, /nothing was run/)
    assert.equal(existsSync(out), false)

    // A valid sweep is not written into a folder that holds other files.
    const other = join(dir, 'other')
    mkdirSync(other)
    writeFileSync(join(other, 'notes.txt'), 'mine')
    const g = sweepFile(dir, `method: grid\nparameters:\n  stages.train.with.learning_rate: {values: [0.05]}\n`)
    const taken = lorapipe(['sweep', g, '--out', other])
    assert.equal(taken.code, 2, taken.stderr)
    assert.match(taken.stderr, /is not empty and holds no sweep/)
    assert.deepEqual(readdirSync(other), ['notes.txt'])
  })

  const ashaSweep = (dir: string) =>
    sweepFile(
      dir,
      // Learning rates too small to move the weights: no better than the initial model.
      `method: grid
parameters:
  stages.train.with.learning_rate: {values: [0.05, 1.0e-7]}
early_terminate: {type: asha, min_steps: 1, reduction_factor: 3}
`,
    )

  it('ASHA prunes the hopeless trials at the first rung, and an interrupted then killed sweep resumes to the same leaderboard without running a trial twice', async () => {
    const dir = tmp()
    const f = ashaSweep(dir)
    // step_ms slows training (not its numbers) so that the signals land mid-trial.
    const args = [...short, '--set', 'vars.step_ms=40', '--concurrency', '1']
    const whole = join(dir, 'whole')
    const r = await lorapipeAsync(['sweep', f, '--out', whole, ...args])
    assert.equal(r.code, 0, r.stderr)
    const rows = board(whole)
    assert.deepEqual(rows.map((x) => [x.trial, x.state, x.evaluations]), [[0, 'completed', 2], [1, 'pruned', 1]])
    assert.match(rows[1]!.reason!, /pruned at evaluation 1 \(step 20\) by asha/)
    assert.match(r.stdout, /\[trial 0001\] pruned after/)
    // A pruned trial keeps its run folder; it did not complete.
    assert.ok(existsSync(join(whole, 'trials', '0001', 'run.json')))
    assert.equal(existsSync(join(whole, 'trials', '0001', 'train', 'stage.json')), false)

    // Ctrl-C in the middle of trial 0: exit 130, every trial stopped, resumable.
    const out = join(dir, 'resumed')
    const first = startLorapipe(['sweep', f, '--out', out, ...args])
    let stdout = ''
    first.stdout.on('data', (d) => (stdout += d))
    await waitFor(() => record(out).some((e) => e.type === 'metrics' && e.trial === 0), 'trial 0 evaluated', first)
    first.kill('SIGINT')
    const code = await new Promise((res) => first.on('close', res))
    assert.equal(code, 130)
    assert.match(stdout, /resume with: lorapipe sweep --resume /)
    assert.ok(!record(out).some((e) => e.type === 'finished' || e.type === 'ended'), 'nothing finished, so all is resumable')
    assert.equal(existsSync(join(out, 'trials', '.0000.pid')), false, 'the trial process is gone')

    // Resumed, then killed with SIGKILL while trial 1 runs.
    const second = startLorapipe(['sweep', '--resume', out])
    await waitFor(() => readFileSync(join(out, 'trials', '0001', 'events.jsonl'), 'utf8').includes('"RunStarted"'), 'trial 1 started', second)
    second.kill('SIGKILL')
    await new Promise((res) => second.on('close', res))

    const third = await lorapipeAsync(['sweep', '--resume', out])
    assert.equal(third.code, 0, third.stderr)
    assert.match(third.stdout, /sweep bow-sweep \(resumed\)/)
    assert.deepEqual(outcome(out), outcome(whole))

    // No trial ran twice: each was started fresh once; only interrupted ones were continued.
    const rec = record(out)
    const fresh = rec.filter((e) => e.type === 'started' && !e.resume).map((e) => e.trial)
    assert.deepEqual(fresh, [0, 1])
    assert.equal(rec.filter((e) => e.type === 'finished').length, 2)
    assert.deepEqual(readdirSync(join(out, 'trials')).filter((n) => !n.startsWith('.')), ['0000', '0001'])
    const runsIn = (t: string) => readFileSync(join(out, 'trials', t, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"RunStarted"')).length
    assert.equal(runsIn('0000'), 2, 'trial 0 was continued once after Ctrl-C')
    assert.equal(runsIn('0001'), 2, 'trial 1 was continued once after the kill')
  })

  it('`uses: sweep` in a pipeline: the sweep runs in the stage folder, refit trains the winner longer, and later stages read the outputs', async () => {
    const dir = tmp()
    sweepFile(dir, `method: grid\nparameters:\n  stages.train.with.learning_rate: {values: [0.05, 0.2]}\n`)
    writeFileSync(
      join(dir, 'search.yaml'),
      `name: search-then-train
stages:
  search:
    uses: sweep
    with:
      sweep: ./sweep.yaml
      concurrency: 2
      set: [stages.train.with.epochs=1]
      refit: {set: [stages.train.with.epochs=2]}
  table:
    uses: compare
    with:
      runs:
        winner: \${stages.search.outputs.best_run}/train/metrics.json
`,
    )
    const out = join(dir, 'run')
    const r = await lorapipeAsync(['run', join(dir, 'search.yaml'), '--out', out, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    const done = events.find((e) => e._tag === 'StageFinished' && e.stage === 'search')
    const sweepDir = join(out, 'search')
    assert.deepEqual(done.outputs, {
      best: join(sweepDir, 'best.yaml'),
      leaderboard: join(sweepDir, 'leaderboard.json'),
      dir: sweepDir,
      best_value: board(sweepDir)[0]!.objective,
      best_trial_dir: join(sweepDir, board(sweepDir)[0]!.run_dir),
      best_run: join(sweepDir, 'best_run'),
    })
    assert.ok(events.some((e) => e._tag === 'Log' && e.stage === 'search' && /\[trial 0001\] completed: eval_accuracy/.test(e.message)))
    // The winner trained for 2 epochs (80 steps) instead of the trials' 1.
    const refit = JSON.parse(readFileSync(join(sweepDir, 'best_run', 'train', 'metrics.json'), 'utf8'))
    assert.equal(refit.train.steps, 80)
    assert.ok(existsSync(join(out, 'table', 'comparison.md')))
    // The sweep folder is a sweep folder: --json of `lorapipe sweep` would have written the same events.
    const sweepEvents = readFileSync(join(sweepDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(sweepEvents[0]._tag, 'SweepStarted')
    assert.equal(sweepEvents.at(-1)._tag, 'SweepFinished')
    assert.ok(sweepEvents.some((e) => e._tag === 'TrialEvent' && e.event._tag === 'RunStarted' && e.trial === 0))
  })
})
