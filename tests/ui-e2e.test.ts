// `lorapipe run` as people watch it: the Ink UI inside a real pseudo-terminal (tmux), plain lines
// when stdout is a pipe, and JSON lines with --json. The pipeline trains a small real model
// (tests/fixtures/stages/bow-logreg.ts: 120 steps, a log every 5, an evaluation every 20).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, lorapipe } from './support/cli.ts'
import { needsTmux, shell, Terminal } from './support/terminal.ts'
import { repoRoot } from './support/shared.ts'

const pipeline = join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow.yaml')
const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-ui-'))
const ESC = /\x1b|\r/

describe('lorapipe run in a terminal (Ink UI)', { skip: needsTmux }, () => {
  test('shows the progress bar moving, the evaluation table with the best row, then the summary; restores the terminal', async () => {
    const out = tmp()
    const term = new Terminal(shell(['run', pipeline, '--out', out, '--set', 'vars.step_ms=40']), { columns: 100, rows: 45 })
    try {
      const progress = /(\d+)%\s+step (\d+)\/120/
      const first = await term.waitFor(progress)
      await new Promise((r) => setTimeout(r, 700))
      const second = await term.waitFor(progress)
      assert.notEqual(first, second)
      const [a, b] = [Number(progress.exec(first)![2]), Number(progress.exec(second)![2])]
      assert.ok(b > a, `the step went from ${a} to ${b}`)
      assert.match(second, /[█░]{10,} +\d+%/)
      assert.match(second, /epoch \d\.\d\d\/3 · [\d.]+ steps\/s · [\d.]+ samples\/s · elapsed \d+s · ETA \d+s/)
      assert.match(second, /● train\s+bow-logreg\.ts/)
      const table = await term.waitFor(/★\s+\d+\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}\s+best/)
      assert.match(table, /step\s+loss\s+accuracy\s+f1/)
      assert.match(table, /loss 0\.\d{4} {2}lr [\d.e-]+ {2}[▁▂▃▄▅▆▇█]+/)
      const end = await term.waitFor(/EXIT=\d+ MODES: .*echo/)
      assert.match(end, /EXIT=0/)
      assert.match(end, /run bow succeeded in/)
      assert.match(end, /train\s+done\s+[\d.]+s\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}/)
      assert.ok(end.includes(`outputs: ${out}`), end)
      assert.ok(end.includes(`report:  ${join(out, 'report.html')}`), end)
      // The live panel is gone and the terminal is back in line mode with echo.
      assert.doesNotMatch(end, /ETA/)
      assert.match(end, /MODES: icanon echo/)
      readFileSync(join(out, 'report.html'), 'utf8')
    } finally {
      term.close()
    }
  })

  test('Ctrl-C stops the run cleanly (exit 130, stage interrupted), with the notice above the UI, and restores the terminal', async () => {
    const out = tmp()
    const term = new Terminal(shell(['run', pipeline, '--out', out, '--set', 'vars.step_ms=60']), { columns: 60, rows: 40 })
    try {
      await term.waitFor(/step \d+\/120/)
      term.tmux('send-keys', '-t', 't', 'C-c')
      const end = await term.waitFor(/EXIT=\d+ MODES: .*echo/)
      assert.match(end, /EXIT=130/)
      assert.match(end, /Ctrl-C: stopping cleanly/)
      assert.match(end, /■ train .*interrupted/)
      assert.match(end, /run bow interrupted in/)
      assert.match(end, /MODES: icanon echo/)
      // At 60 columns nothing wraps.
      for (const l of end.split('\n')) assert.ok([...l].length <= 60, l)
    } finally {
      term.close()
    }
  })
})

describe('lorapipe run without a terminal', () => {
  test('stdout piped: plain lines, one per logging step and per evaluation, no escape codes', () => {
    const out = tmp()
    const r = lorapipe(['run', pipeline, '--out', out], { env: { CI: '', NO_COLOR: '' } })
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stdout, ESC)
    assert.doesNotMatch(r.stderr, ESC)
    const lines = r.stdout.trimEnd().split('\n')
    const logs = lines.filter((l) => /^\[train\] step \d+ epoch [\d.]+ loss [\d.]+ lr [\d.e-]+ grad_norm [\d.]+ [\d.]+ samples\/s$/.test(l))
    assert.deepEqual(logs.map((l) => Number(/step (\d+)/.exec(l)![1])), Array.from({ length: 24 }, (_, i) => 5 * (i + 1)))
    const evals = lines.filter((l) => /^\[train\] eval step \d+: loss [\d.]+ accuracy [\d.]+ f1 [\d.]+( \(best\))?$/.test(l))
    assert.deepEqual(evals.map((l) => Number(/step (\d+)/.exec(l)![1])), [20, 40, 60, 80, 100, 120])
    assert.match(lines[0]!, /^run bow: 1 stage \(train\) -> /)
    assert.match(lines.at(-2)!, /^run succeeded in [\d.]+s; outputs in /)
    assert.equal(lines.at(-1), `report: ${join(out, 'report.html')}`)
    // Debug messages only with --verbose.
    assert.doesNotMatch(r.stdout, /vocabulary:/)
  })

  test('CI=true in a terminal-less run: the same plain lines', () => {
    const r = lorapipe(['run', pipeline, '--out', tmp()], { env: { CI: 'true' } })
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stdout, ESC)
    assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('[train] eval step')).length, 6)
  })

  test('--json: every stdout line is an event (JSON), nothing else', () => {
    const r = lorapipe(['run', pipeline, '--out', tmp(), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const events = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { _tag: string })
    assert.equal(events[0]!._tag, 'RunStarted')
    assert.equal(events.at(-1)!._tag, 'RunFinished')
    const count = (tag: string) => events.filter((e) => e._tag === tag).length
    assert.deepEqual([count('Progress'), count('TrainLog'), count('EvalMetrics')], [120, 24, 6])
  })

  test('--quiet prints only the final line; --verbose adds debug messages', () => {
    const q = lorapipe(['run', pipeline, '--out', tmp(), '--quiet'])
    assert.equal(q.code, 0, q.stderr)
    assert.match(q.stdout, /^run succeeded in [\d.]+s; outputs in .+\n$/)
    const v = lorapipe(['run', pipeline, '--out', tmp(), '--verbose'])
    assert.equal(v.code, 0, v.stderr)
    assert.match(v.stdout, /\[train\] vocabulary: /)
  })
})
