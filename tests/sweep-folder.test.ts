// The sweep folder's integrity through the real `lorapipe` executable: a full disk stops a sweep
// with one clear message and a state that `--resume` finishes; a busy folder is refused without a
// write. Trials are the bag-of-words fixture (tests/fixtures/pipelines/bow.yaml), one epoch each.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, lorapipe } from './support/cli.ts'
import { repoRoot } from './support/shared.ts'
import { needsSmallDisk, withSmallDisk } from './support/small-disk.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-sweep-folder-'))
const base = join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow.yaml')

function sweepFile(dir: string, values = '[0.05, 0.2, 0.1]'): string {
  const f = join(dir, 'sweep.yaml')
  writeFileSync(f, `name: bow-sweep\nbase: ${base}\nmetric: {name: eval_accuracy, goal: maximize}\nmethod: grid\nparameters:\n  stages.train.with.learning_rate: {values: ${values}}\n  stages.train.with.epochs: {value: 1}\n`)
  return f
}

/** Every line of a JSON-lines file, parsed; fails on a line cut short. */
function jsonLines(file: string): Record<string, unknown>[] {
  const text = readFileSync(file, 'utf8')
  assert.ok(text.endsWith('\n'), `${file} ends with a whole line`)
  return text
    .trimEnd()
    .split('\n')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>
      } catch {
        throw new Error(`${file}:${i + 1} is not a whole JSON line: ${l.slice(0, 80)}`)
      }
    })
}

describe('the sweep folder on a full disk', { skip: needsSmallDisk }, () => {
  it('a sweep that runs out of space stops with the path and what is saved (exit 1, no stack trace), and `--resume` finishes it once there is room, with the full leaderboard', () => {
    const dir = tmp()
    const res = join(dir, 'results')
    mkdirSync(res)
    // A 1 MiB tmpfs filled up to 130 KiB: room for the sweep's own files and about one trial.
    const r = withSmallDisk(
      '1m',
      `avail=$(df -B1 --output=avail "$MNT" | tail -1)
head -c $((avail - 130 * 1024)) /dev/zero > "$MNT/filler"
"$NODE" "$BIN" sweep "$SWEEP" --out "$MNT/out" -q > "$RES/first.out" 2> "$RES/first.err"; echo $? > "$RES/first.code"
cp "$MNT/out/sweep.jsonl" "$RES/first.jsonl"; cp "$MNT/out/events.jsonl" "$RES/first.events.jsonl"
ls -A "$MNT/out" > "$RES/first.ls"
rm "$MNT/filler"
"$NODE" "$BIN" sweep --resume "$MNT/out" -q > "$RES/second.out" 2> "$RES/second.err"; echo $? > "$RES/second.code"
cp "$MNT/out/sweep.jsonl" "$MNT/out/leaderboard.json" "$MNT/out/events.jsonl" "$MNT/out/report.html" "$RES/"
`,
      { NODE: process.execPath, BIN: bin, SWEEP: sweepFile(dir), RES: res },
    )
    assert.equal(r.status, 0, `the script failed: ${r.stderr}`)
    const read = (f: string) => readFileSync(join(res, f), 'utf8')

    // One message: which file, that the disk is full, what is saved, and how to go on.
    const err = read('first.err')
    assert.equal(read('first.code').trim(), '1', err)
    assert.match(err, /^error: cannot write \/\S+\/out\/\S*: no space left on the device \(ENOSPC\)\. The sweep stopped; its record \(sweep\.jsonl\) holds every trial up to now: (\d+) finished/m)
    assert.match(err, /\n {2}hint: free some space, then `lorapipe sweep --resume \/\S+\/out` continues the sweep\n$/)
    assert.doesNotMatch(err, /^\s+at |Error:|FiberFailure/m, 'no stack trace')
    assert.equal(err.match(/^error:/gm)?.length, 1, err)
    // The record holds whole lines only, and what the message says.
    const first = jsonLines(join(res, 'first.jsonl'))
    const finished = first.filter((e) => e.type === 'finished').length
    assert.equal(Number(/(\d+) finished/.exec(err)![1]), finished)
    assert.ok(!first.some((e) => e.type === 'ended'), 'the sweep did not end: it is resumable')
    jsonLines(join(res, 'first.events.jsonl'))
    assert.ok(!read('first.ls').includes('report.html'), 'nothing more is written into a folder that is full')

    // Once there is room, --resume finishes the sweep as if it had never stopped.
    assert.equal(read('second.code').trim(), '0', read('second.err'))
    const rows = (JSON.parse(read('leaderboard.json')) as { rows: { trial: number; state: string; evaluations: number; step: number }[] }).rows
    assert.deepEqual(rows.map((x) => [x.state, x.evaluations, x.step]), [['completed', 2, 40], ['completed', 2, 40], ['completed', 2, 40]])
    assert.deepEqual(rows.map((x) => x.trial).sort(), [0, 1, 2])
    const record = jsonLines(join(res, 'sweep.jsonl'))
    assert.deepEqual(record.filter((e) => e.type === 'assigned').map((e) => e.trial), [0, 1, 2])
    assert.equal(record.at(-1)!.status, 'finished')
    assert.equal(jsonLines(join(res, 'events.jsonl')).at(-1)!._tag, 'SweepFinished')
    assert.match(read('report.html'), /lorapipe sweep report/)
  })
})

describe('a busy sweep folder', () => {
  it('`sweep --resume` of a folder another live process holds is refused (exit 2) and writes nothing, not even report.html', () => {
    const dir = tmp()
    const out = join(dir, 'out')
    // A sweep that ran (one quick trial), then a lock held by a live process (this test).
    const done = lorapipe(['sweep', sweepFile(dir, '[0.05]'), '--out', out, '-q'])
    assert.equal(done.code, 0, done.stderr)
    writeFileSync(join(out, 'sweep.lock'), JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'held-by-the-test', since: Date.now() }))
    const before = snapshot(out)
    const r = lorapipe(['sweep', '--resume', out])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, new RegExp(`^error: the sweep in ${out} is being run by process ${process.pid} on `))
    assert.doesNotMatch(r.stdout, /report:/)
    assert.deepEqual(snapshot(out), before, 'nothing in the folder changed')
  })
})

/** Every file under `dir` with its size and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const st = statSync(p)
      if (st.isDirectory()) walk(p)
      else out[p] = `${st.size} ${st.mtimeMs}`
    }
  }
  walk(dir)
  return out
}
