// `lorapipe sweep` on the tiny DistilBERT fixture and the real SST-2 files (../shared): LoRA
// trials of a few steps each, through the shipped seed recipe (tests/fixtures/sweeps/tiny-base.yaml
// shrinks pipelines/sst2-lora.yaml). Skipped with a message without ../shared.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipeAsync, startLorapipe } from './support/cli.ts'
import { needsShared, repoRoot, sharedDir } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-sweep-sst2-'))
const base = join(repoRoot, 'tests', 'fixtures', 'sweeps', 'tiny-base.yaml')
const env = () => ({ LORAPIPE_SHARED: sharedDir!, HF_HUB_OFFLINE: '1' })

function sweepFile(dir: string, body: string): string {
  const f = join(dir, 'sweep.yaml')
  writeFileSync(f, `name: tiny-sweep\nbase: ${base}\n${body}`)
  return f
}
const board = (dir: string) => JSON.parse(readFileSync(join(dir, 'leaderboard.json'), 'utf8')).rows as { trial: number; state: string; objective?: number; evaluations: number; parameters: Record<string, unknown>; run_dir: string; reason?: string }[]
const record = (dir: string) => readFileSync(join(dir, 'sweep.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as { type: string; trial?: number; resume?: boolean }[]

describe('lorapipe sweep on the tiny DistilBERT and SST-2', { skip: needsShared }, () => {
  it('a grid with concurrency 2 fills the leaderboard, and best.yaml validates and runs', async () => {
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(dir, `method: grid\nmetric: {name: eval_loss, goal: minimize}\nparameters:\n  rank:\n    together:\n      - {lora.r: 2, lora.alpha: 4}\n      - {lora.r: 4, lora.alpha: 8}\n`)
    // LORAPIPE_THREADS is the machine's share to divide (whatever its cores): 2 trials at a time get 2 threads each.
    const r = await lorapipeAsync(['sweep', f, '--concurrency', '2', '--out', out, '--json'], { env: { ...env(), LORAPIPE_THREADS: '4' } })
    assert.equal(r.code, 0, r.stderr)
    // --json: sweep events only, the trials' run events wrapped as TrialEvent.
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(events[0]._tag, 'SweepStarted')
    assert.equal(events[0].concurrency, 2)
    assert.equal(events.at(-1)._tag, 'SweepFinished')
    assert.equal(events.at(-1).status, 'finished')
    assert.equal(events.filter((e) => e._tag === 'TrialEvent' && e.event._tag === 'EvalMetrics').length, 6)
    assert.equal(events.filter((e) => e._tag === 'TrialMetrics').length, 6)
    const rows = board(out)
    assert.deepEqual(rows.map((x) => [x.state, x.evaluations]), [['completed', 3], ['completed', 3]])
    assert.deepEqual(rows.map((x) => x.parameters['lora.r']).sort(), [2, 4])
    for (const row of rows) {
      assert.match(readFileSync(join(out, row.run_dir, 'events.jsonl'), 'utf8'), /backend: \w+ \(2 threads\)/, 'threads divided between the trials')
      const m = JSON.parse(readFileSync(join(out, row.run_dir, 'metrics.json'), 'utf8'))
      assert.equal(m.eval.loss, row.objective)
      assert.ok(existsSync(join(out, row.run_dir, 'adapter', 'adapter_model.safetensors')))
    }
    // With the thread count the trial had; OpenBLAS may sum in another order with another count,
    // which moves the loss in its 7th digit.
    const run = await lorapipeAsync(['run', join(out, 'best.yaml'), '--out', join(dir, 'best-run'), '-q'], { env: { ...env(), LORAPIPE_THREADS: '2' }, cwd: tmpdir() })
    assert.equal(run.code, 0, run.stderr)
    assert.equal(JSON.parse(readFileSync(join(dir, 'best-run', 'metrics.json'), 'utf8')).eval.loss, rows[0]!.objective, 'best.yaml reproduces the winner')
  })

  it('ASHA prunes a learning rate of 1.0 at the first rung; a sweep killed mid-trial resumes from the trial checkpoint to the same leaderboard', async () => {
    const dir = tmp()
    const f = sweepFile(
      dir,
      `method: grid\nmetric: {name: eval_loss, goal: minimize}\nparameters:\n  trainer.learning_rate: {values: [1.0e-3, 1.0]}\nearly_terminate: {type: asha, min_steps: 1, reduction_factor: 2}\n`,
    )
    const args = ['--concurrency', '1', '--set', 'trainer.save_every=2']
    const whole = join(dir, 'whole')
    const r = await lorapipeAsync(['sweep', f, '--out', whole, ...args], { env: env() })
    assert.equal(r.code, 0, r.stderr)
    const rows = board(whole)
    assert.deepEqual(rows.map((x) => [x.trial, x.state, x.evaluations]), [[0, 'completed', 3], [1, 'pruned', 1]])
    assert.ok(rows[1]!.objective! > rows[0]!.objective!, 'the hopeless trial is worse at the first rung')

    // Killed (SIGKILL) once trial 0 has written a checkpoint.
    const out = join(dir, 'killed')
    const child = startLorapipe(['sweep', f, '--out', out, ...args], { env: env() })
    const ckpts = join(out, 'trials', '0000', 'checkpoints')
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(ckpts) && readdirSync(ckpts).some((d) => /^step-\d+$/.test(d))) {
          clearInterval(poll)
          child.kill('SIGKILL')
          resolve()
        } else if (child.exitCode !== null) {
          clearInterval(poll)
          reject(new Error('the sweep ended before it could be killed'))
        }
      }, 10)
    })
    await new Promise((res) => child.on('close', res))
    const resumed = await lorapipeAsync(['sweep', '--resume', out], { env: env() })
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.deepEqual(
      board(out).map((x) => [x.trial, x.state, x.objective, x.evaluations]),
      rows.map((x) => [x.trial, x.state, x.objective, x.evaluations]),
    )
    const rec = record(out)
    assert.deepEqual(rec.filter((e) => e.type === 'started').map((e) => [e.trial, e.resume]), [[0, false], [0, true], [1, false]])
    const log = readFileSync(join(out, 'trials', '0000', 'events.jsonl'), 'utf8')
    assert.match(log, /resuming from .*checkpoints.step-\d+/, 'trial 0 continued from its checkpoint, not from step 0')
  })
})
