// The `lorapipe` command as a user meets it: help, exit codes, validate, plan and run, with
// custom TypeScript stages composed around a built-in one, JSON output and Ctrl-C.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, startLorapipe } from './support/cli.ts'
import { repoRoot } from './support/shared.ts'

const fixtures = join(repoRoot, 'tests', 'fixtures')
const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-cli-'))

describe('lorapipe CLI', () => {
  test('--help lists the commands and the exit codes; every command has --help', () => {
    const r = lorapipe(['--help'])
    assert.equal(r.code, 0)
    for (const word of ['run <pipeline.yaml>', 'validate <pipeline.yaml>', 'plan <pipeline.yaml>', 'score --model M', 'Exit codes: 0 ok, 1 run failed, 2 bad input']) assert.ok(r.stdout.includes(word), word)
    for (const cmd of ['run', 'validate', 'plan', 'predict', 'score']) {
      const h = lorapipe([cmd, '--help'])
      assert.equal(h.code, 0)
      assert.match(h.stdout, new RegExp(`^Usage: lorapipe ${cmd} `))
      assert.match(h.stdout, /Exit codes:/)
    }
  })

  test('--version prints the version of the package users install (packages/lorapipe/package.json), as --help does', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'packages', 'lorapipe', 'package.json'), 'utf8'))
    const r = lorapipe(['--version'])
    assert.equal(r.code, 0)
    assert.equal(r.stdout, `${version}\n`)
    assert.ok(lorapipe(['--help']).stdout.startsWith(`lorapipe ${version}: `))
  })

  test('an unknown command or option is bad input (exit 2) with a suggestion', () => {
    const r = lorapipe(['valdate', 'x.yaml'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /unknown command `valdate`; did you mean `validate`\?/)
    const o = lorapipe(['run', 'x.yaml', '--concurency', '2'])
    assert.equal(o.code, 2)
    assert.match(o.stderr, /unknown option --concurency.*did you mean `--concurrency`\?/)
  })

  test('validate: exit 0 for the seed pipelines, exit 2 with every error located for a bad one', () => {
    for (const f of ['sst2-lora.yaml', 'sst2-full-finetune.yaml', 'sst2-lora-vs-full.yaml']) {
      const r = lorapipe(['validate', `pipelines/${f}`])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /is valid/)
    }
    const dir = tmp()
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nmodel: { id: m, num_labels: 2 }\nlora: null\ndataset: { train: { path: t.tsv } }\ntrainer:\n  learning_rte: 1e-4\n  batch_size: 0\n')
    const r = lorapipe(['validate', join(dir, 'bad.yaml')])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bad\.yaml:6:3: error: unknown key `learning_rte` in `trainer`/)
    assert.match(r.stderr, /hint: did you mean `learning_rate`\?/)
    assert.match(r.stderr, /bad\.yaml:7:15: error: `trainer\.batch_size` must be >= 1, not 0/)
    assert.match(r.stderr, / 6 \|   learning_rte: 1e-4\n\s+\|   \^/)
    assert.match(r.stderr, /2 errors/)
    const j = lorapipe(['validate', join(dir, 'bad.yaml'), '--json'])
    assert.equal(j.code, 2)
    const parsed = JSON.parse(j.stdout)
    assert.equal(parsed.valid, false)
    assert.deepEqual(parsed.errors.map((e: { line: number; column: number }) => [e.line, e.column]), [[6, 3], [7, 15]])
  })

  test('plan: prints the resolved pipeline and the stage graph without running anything', () => {
    const r = lorapipe(['plan', 'pipelines/sst2-lora-vs-full.yaml', '--set', 'trainer.learning_rate=1e-4'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /learning_rate: 0\.0001/)
    assert.match(r.stdout, /3\. compare\s+uses compare\s+needs lora, full/)
    assert.match(r.stdout, /Waves .*: \[lora, full\] -> \[compare\]/)
    const j = JSON.parse(lorapipe(['plan', 'pipelines/sst2-lora.yaml', '--json']).stdout)
    assert.deepEqual(j.order, ['finetune'])
    assert.equal(j.stages[0].params.lora.r, 8)
    assert.equal(j.stages[0].params.trainer.learning_rate, 2e-4)
  })

  test('run: custom TypeScript stages, the built-in compare after them, and a custom stage after compare', () => {
    const out = join(tmp(), 'run')
    const r = lorapipe(['run', join(fixtures, 'pipelines', 'baselines.yaml'), '--out', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\[compare\] comparison by accuracy:/)
    assert.match(r.stdout, /run succeeded in .*; outputs in /)
    assert.equal(readFileSync(join(out, 'summary', 'summary.txt'), 'utf8'), 'Tiny baselines: again wins with accuracy 0.6667\n'.replace('again', JSON.parse(readFileSync(join(out, 'compare', 'comparison.json'), 'utf8')).rows[0].method))
    const table = readFileSync(join(out, 'compare', 'comparison.md'), 'utf8')
    assert.match(table, /\| majority \|\s+0 \|/)
    for (const f of ['config.resolved.yaml', 'run.json', 'events.jsonl']) assert.ok(existsSync(join(out, f)), f)
    const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(events[0]._tag, 'RunStarted')
    assert.equal(events.at(-1)._tag, 'RunFinished')
    // Running into the same folder again is refused; `--resume DIR` reruns nothing that completed.
    const again = lorapipe(['run', join(fixtures, 'pipelines', 'baselines.yaml'), '--out', out])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /already holds a run/)
    const resumed = lorapipe(['run', '--resume', out, '--json'])
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.equal(resumed.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e._tag === 'StageStarted').length, 0)
  })

  test('run --json prints only JSON event lines on stdout', () => {
    const r = lorapipe(['run', join(fixtures, 'pipelines', 'baselines.yaml'), '--out', join(tmp(), 'r'), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.split('\n').filter((l) => l.length > 0)
    assert.ok(lines.length > 8)
    const tagsSeen = new Set(lines.map((l) => JSON.parse(l)._tag))
    for (const t of ['RunStarted', 'StageStarted', 'EvalMetrics', 'StageFinished', 'RunFinished']) assert.ok(tagsSeen.has(t), t)
  })

  test('a failing stage makes the run exit 1 and skips the stages that need it', () => {
    const dir = tmp()
    writeFileSync(
      join(dir, 'p.yaml'),
      `name: failing\nstages:\n  bad:\n    uses: ${join(fixtures, 'stages', 'slow.ts')}\n    with: { steps: 2, step_ms: 1, fail_at: 1 }\n  after:\n    uses: ${join(fixtures, 'stages', 'slow.ts')}\n    needs: bad\n    with: { steps: 1 }\n`,
    )
    const r = lorapipe(['run', join(dir, 'p.yaml'), '--out', join(dir, 'run')])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /\[bad\] failed after .*: slow: failing at step 1 as asked/)
    assert.match(r.stderr, /\[after\] skipped: needs `bad`, which failed/)
    assert.match(r.stderr, /run failed in/)
  })

  test('Ctrl-C stops the run cleanly: exit 130, no completion record, no temporary files', async () => {
    const out = join(tmp(), 'run')
    const child = startLorapipe(['run', join(fixtures, 'pipelines', 'slow.yaml'), '--out', out, '--json'])
    let stdout = ''
    child.stdout.on('data', (d) => (stdout += d))
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no progress seen; stdout so far: ${stdout}`)), 60_000)
      const check = () => {
        if (stdout.includes('"Progress"')) {
          clearTimeout(t)
          child.stdout.off('data', check)
          resolve()
        }
      }
      child.stdout.on('data', check)
    })
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 130)
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(events.at(-1)._tag, 'RunFinished')
    assert.equal(events.at(-1).status, 'interrupted')
    assert.ok(events.some((e) => e._tag === 'StageInterrupted' && e.stage === 'slow'))
    assert.equal(existsSync(join(out, 'slow', 'stage.json')), false)
    assert.equal(existsSync(join(out, 'slow', 'slow.lock')), false)
    assert.equal(existsSync(join(out, 'after')), false)
    const leftovers = readdirSync(out, { recursive: true }).map(String).filter((f) => f.includes('.tmp-'))
    assert.deepEqual(leftovers, [])
  })
})
