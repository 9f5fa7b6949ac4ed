// The sweep folder's integrity through the real `lorapipe` executable: a full disk stops a sweep
// with one clear message and a state that `--resume` finishes; a busy folder is refused without a
// write. Trials are the bag-of-words fixture (tests/fixtures/pipelines/bow.yaml), one epoch each.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, lorapipe, startLorapipe } from './support/cli.ts'
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

/** Polls until `cond` holds (a file appears...), or fails when the child ends first. */
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
        reject(new Error(`it ended before ${what}`))
      }
    }, 20)
  })
}

const recordOf = (dir: string) => jsonLines(join(dir, 'sweep.jsonl'))

/** A user's folder: a sweep over base.yaml, which extends common.yaml and uses a copy of the bag-of-words stage. */
function recipeFolder(values: string): string {
  const dir = tmp()
  const fixtures = join(repoRoot, 'tests', 'fixtures')
  writeFileSync(join(dir, 'bow-logreg.ts'), readFileSync(join(fixtures, 'stages', 'bow-logreg.ts')))
  writeFileSync(join(dir, 'common.yaml'), `seed: 13\nvars:\n  data: ${join(fixtures, 'data')}\n  step_ms: 20\n`)
  writeFileSync(
    join(dir, 'base.yaml'),
    `extends: ./common.yaml\nname: bow\nstages:\n  train:\n    uses: ./bow-logreg.ts\n    with:\n      train: \${vars.data}/bow-train.tsv\n      eval: \${vars.data}/bow-dev.tsv\n      method: bow-adam\n      epochs: 1\n      batch_size: 16\n      learning_rate: 0.05\n      eval_every: 20\n      step_ms: \${vars.step_ms}\n`,
  )
  writeFileSync(join(dir, 'sweep.yaml'), `name: recipe-sweep\nbase: ./base.yaml\nmetric: {name: eval_accuracy, goal: maximize}\nmethod: grid\nparameters:\n  stages.train.with.learning_rate: {values: ${values}}\n`)
  return dir
}

describe('a sweep resumed after its recipe changed', () => {
  it('is refused (exit 2, nothing written) naming each changed file; --accept-changes goes on and the record, leaderboard, summary and report mark where the recipe changed; the sweep file itself is never accepted', async () => {
    const dir = recipeFolder('[0.05, 0.2, 0.1]')
    const out = join(dir, 'out')
    // Interrupted (Ctrl-C) once trial 0 finished and trial 1 is training.
    const first = startLorapipe(['sweep', join(dir, 'sweep.yaml'), '--out', out, '-q'])
    await waitFor(() => readFileSync(join(out, 'trials', '0001', 'events.jsonl'), 'utf8').includes('"RunStarted"') && recordOf(out).some((e) => e.type === 'finished'), 'trial 1 started', first)
    first.kill('SIGINT')
    assert.equal(await new Promise((res) => first.on('close', res)), 130)
    const started = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as { inputs: Record<string, string> }
    assert.deepEqual(Object.keys(started.inputs).sort(), ['base.yaml', 'bow-logreg.ts', 'common.yaml', 'sweep.yaml'].map((f) => join(dir, f)).sort())

    // The extended file and the stage module are edited: refused, each named, nothing written.
    const common = readFileSync(join(dir, 'common.yaml'), 'utf8')
    const stage = readFileSync(join(dir, 'bow-logreg.ts'), 'utf8')
    writeFileSync(join(dir, 'common.yaml'), common.replace('seed: 13', 'seed: 14'))
    writeFileSync(join(dir, 'bow-logreg.ts'), stage + '\n// edited\n')
    const before = snapshot(out)
    const refused = lorapipe(['sweep', '--resume', out])
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, /error: the recipe of the sweep in .* changed since it started; resuming would mix two recipes in one leaderboard\. These 2 files of its trials are not as they were:/)
    assert.match(refused.stderr, new RegExp(`\n  ${join(dir, 'common.yaml')}: changed \\(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\\)`))
    assert.match(refused.stderr, new RegExp(`\n  ${join(dir, 'bow-logreg.ts')}: changed`))
    assert.match(refused.stderr, /hint: restore them, or pass --accept-changes \(`lorapipe sweep --resume .* --accept-changes`\)/)
    assert.deepEqual(snapshot(out), before, 'a refusal writes nothing')

    // The sweep file is the search space: never accepted.
    const sweepText = readFileSync(join(dir, 'sweep.yaml'), 'utf8')
    writeFileSync(join(dir, 'sweep.yaml'), sweepText + '# edited\n')
    const search = lorapipe(['sweep', '--resume', out, '--accept-changes'])
    assert.equal(search.code, 2, search.stderr)
    assert.match(search.stderr, /the sweep file .*sweep\.yaml changed since the sweep in .* started; resuming would mix two searches; --accept-changes covers the base pipeline, the files it extends and its stage modules, not the sweep file/)
    assert.deepEqual(snapshot(out), before)
    writeFileSync(join(dir, 'sweep.yaml'), sweepText)

    // The stage module put back; the new common.yaml accepted.
    writeFileSync(join(dir, 'bow-logreg.ts'), stage)
    const accepted = lorapipe(['sweep', '--resume', out, '--accept-changes'])
    assert.equal(accepted.code, 0, accepted.stderr)
    const change = recordOf(out).find((e) => e.type === 'recipe') as { recipe: number; time: string; files: unknown[] }
    assert.deepEqual([change.recipe, change.files], [2, [{ path: join(dir, 'common.yaml'), change: 'changed' }]])
    const now = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as { inputs: Record<string, string> }
    assert.notEqual(now.inputs[join(dir, 'common.yaml')], started.inputs[join(dir, 'common.yaml')])
    assert.equal(now.inputs[join(dir, 'bow-logreg.ts')], started.inputs[join(dir, 'bow-logreg.ts')])
    // Each trial carries the recipe it was assigned under: 0 and 1 (continued) the first, 2 the new one.
    const lb = JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8')) as { rows: { trial: number; recipe: number; state: string }[]; recipes: { recipe: number }[] }
    assert.deepEqual(lb.rows.map((r) => [r.trial, r.recipe, r.state]).sort(), [[0, 1, 'completed'], [1, 1, 'completed'], [2, 2, 'completed']])
    assert.deepEqual(lb.recipes.map((r) => r.recipe), [2])
    const csv = readFileSync(join(out, 'leaderboard.csv'), 'utf8').split('\n')
    assert.equal(csv[0], 'rank,trial,recipe,state,eval_accuracy,stages.train.with.learning_rate,step,evaluations,duration_s,run_dir,reason')
    assert.match(accepted.stdout, /recipe 2 since .* \(.*common\.yaml changed\): trials assigned from then on run under it/)
    assert.match(accepted.stdout, /\n#\s+trial\s+recipe\s+state\s+eval_accuracy/)
    assert.match(accepted.stdout, new RegExp(`the recipe changed at ${change.time}: recipe 2 \\(${join(dir, 'common.yaml')} changed\\) from trial 2 on`))
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    assert.match(html, /<section id="recipes"><h2>Recipe changes<\/h2>/)
    assert.match(html, /recipe 1, as the sweep started: trials 0, 1<\/li><li>recipe 2, from .*common\.yaml<\/code> changed; trials 2<\/li>/)

    // A sweep.json from before inputs were recorded resumes as it did, saying that nothing is known.
    const { inputs: _inputs, ...older } = now
    writeFileSync(join(out, 'sweep.json'), JSON.stringify(older))
    const old = lorapipe(['sweep', '--resume', out, '-q'])
    assert.equal(old.code, 0, old.stderr)
    assert.match(old.stderr, /note: this sweep was started by an earlier lorapipe, which did not record the hashes of its base pipeline and stage modules; whether they changed since is not known/)
  })

  it('a pipeline whose `uses: sweep` stage is resumed checks the same: `run --resume` is refused (exit 2) until --accept-changes', async () => {
    const dir = recipeFolder('[0.05, 0.2]')
    writeFileSync(join(dir, 'search.yaml'), 'name: search\nstages:\n  search:\n    uses: sweep\n    with:\n      sweep: ./sweep.yaml\n')
    const run = join(dir, 'run')
    const first = startLorapipe(['run', join(dir, 'search.yaml'), '--out', run, '-q'])
    // Interrupted while trial 0 trains: it keeps recipe 1, trial 1 gets the new one.
    await waitFor(() => readFileSync(join(run, 'search', 'trials', '0000', 'events.jsonl'), 'utf8').includes('"RunStarted"'), 'trial 0 started', first)
    first.kill('SIGINT')
    await new Promise((res) => first.on('close', res))
    writeFileSync(join(dir, 'common.yaml'), readFileSync(join(dir, 'common.yaml'), 'utf8').replace('seed: 13', 'seed: 14'))
    const refused = lorapipe(['run', '--resume', run])
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, /error: stage `search`: the recipe of the sweep in .*search changed since it started; .*\n  .*common\.yaml: changed/)
    assert.match(refused.stderr, /hint: restore it, or pass --accept-changes \(`lorapipe run --resume .* --accept-changes`\)/)
    const accepted = lorapipe(['run', '--resume', run, '--accept-changes', '-q'])
    assert.equal(accepted.code, 0, accepted.stderr)
    const lb = JSON.parse(readFileSync(join(run, 'search', 'leaderboard.json'), 'utf8')) as { rows: { trial: number; recipe: number }[] }
    assert.deepEqual(lb.rows.map((r) => [r.trial, r.recipe]).sort(), [[0, 1], [1, 2]])
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
