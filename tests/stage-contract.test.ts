// The custom stage contract, enforced by the executor and seen through the real `lorapipe`
// command: a stage ends by returning nothing or an object of outputs (strings, numbers, booleans,
// null), or by failing. A stage that ends the process (process.exit), returns something else, or
// never settles fails with a message that names it and says what it did; the run ends failed
// (exit 1), "succeeded" is never printed for it, the report is written, no run.lock is left, and
// `--resume` runs the failed stages again. A stage that is merely slow is left alone.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, startLorapipe } from './support/cli.ts'

// Each stage misbehaves unless LORAPIPE_TEST_FIXED=1, so that a resumed run (same stage code, as
// --resume requires) can show the failed stages running again and succeeding.
const head = `import * as Effect from 'effect/Effect'
import { defineStage } from 'lorapipe'
const fixed = () => process.env.LORAPIPE_TEST_FIXED === '1'
const params = { type: 'object', additionalProperties: false, properties: {} }
`
const stage = (name: string, run: string) => `${head}export default defineStage({ name: '${name}', params, outputs: ['result'], run: ${run} })\n`

const STAGES: Record<string, string> = {
  'exit-inline.mjs': stage('exit-inline', "() => Effect.sync(() => { if (!fixed()) process.exit(0); return { result: 'ok' } })"),
  'exit-timer.mjs': stage('exit-timer', "() => new Promise((resolve) => setTimeout(() => { if (!fixed()) process.exit(0); resolve({ result: 'ok' }) }, 50))"),
  'exit-loop.mjs': stage('exit-loop', "() => new Promise((resolve) => { if (fixed()) return resolve({ result: 'ok' }); setInterval(() => process.exit(0), 5) })"),
  'forty-two.mjs': stage('forty-two', "() => Effect.succeed(fixed() ? { result: 'ok' } : 42)"),
  'text.mjs': stage('text', "async () => (fixed() ? { result: 'ok' } : 'done\\u001b[2J')"),
  'nested.mjs': stage('nested', "async () => (fixed() ? { result: 'ok' } : { result: { path: 'x' }, list: [1, 2] })"),
  'effect-never.mjs': stage('effect-never', "() => (fixed() ? Effect.succeed({ result: 'ok' }) : Effect.never)"),
  'promise-never.mjs': stage('promise-never', "() => (fixed() ? Promise.resolve({ result: 'ok' }) : new Promise(() => {}))"),
  // Its cleanup takes an hour: the first Ctrl-C waits for it, the second must not.
  'stubborn.mjs': stage('stubborn', "() => Effect.gen(function* () { yield* Effect.acquireRelease(Effect.void, () => Effect.sleep('1 hour')); yield* Effect.sleep('1 hour') })"),
  'slow.mjs': stage('slow', "() => new Promise((resolve) => setTimeout(() => resolve({ result: 'slow' }), 300))"),
}

/** A folder holding every stage module and a pipeline `p.yaml` of `stages` (id -> module, and optional needs). */
function pipeline(stages: Record<string, { uses: string; needs?: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-contract-'))
  for (const [name, text] of Object.entries(STAGES)) writeFileSync(join(dir, name), text)
  const body = Object.entries(stages).map(([id, s]) => `  ${id}:\n    uses: ./${s.uses}\n${s.needs ? `    needs: ${s.needs}\n` : ''}`)
  writeFileSync(join(dir, 'p.yaml'), `name: contract\nstages:\n${body.join('')}`)
  return dir
}

const jsonLines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as { _tag: string; stage?: string; status?: string; error?: string })
const fixedEnv = { LORAPIPE_TEST_FIXED: '1' }

describe('the custom stage contract', () => {
  test('every way of breaking it fails its own stage with what it did, while a slow stage beside them succeeds; --resume runs the failed ones again', () => {
    const dir = pipeline({
      exit_inline: { uses: 'exit-inline.mjs' },
      exit_timer: { uses: 'exit-timer.mjs' },
      forty_two: { uses: 'forty-two.mjs' },
      text: { uses: 'text.mjs' },
      nested: { uses: 'nested.mjs' },
      effect_never: { uses: 'effect-never.mjs' },
      promise_never: { uses: 'promise-never.mjs' },
      slow: { uses: 'slow.mjs' },
      after: { uses: 'slow.mjs', needs: 'exit_timer' },
    })
    const out = join(dir, 'run')
    const r = lorapipe(['run', 'p.yaml', '--out', out], { cwd: dir })
    assert.equal(r.code, 1, r.stderr)
    const all = r.stdout + r.stderr
    assert.match(r.stderr, /\[exit_inline\] failed after [^:]+: called process\.exit\(0\)/)
    assert.match(r.stderr, /\[exit_timer\] failed after [^:]+: called process\.exit\(0\)/)
    assert.match(r.stderr, /\[forty_two\] failed after [^:]+: returned the number 42; a stage returns nothing or an object of outputs/)
    // Control characters in what a stage returned are shown, not sent to the terminal.
    assert.match(r.stderr, /\[text\] failed after [^:]+: returned the string "done\\u001b\[2J"/)
    assert.match(r.stderr, /\[nested\] failed after [^:]+: returned an object whose output `result` is an object/)
    assert.match(r.stderr, /\[effect_never\] failed after [^:]+: never settled: its Effect neither succeeded nor failed, and nothing is left for it to wait for/)
    assert.match(r.stderr, /\[promise_never\] failed after [^:]+: never settled: its Promise neither succeeded nor failed, and nothing is left for it to wait for/)
    assert.match(r.stderr, /\[after\] skipped: needs `exit_timer`, which failed/)
    assert.match(r.stdout, /\[slow\] done in/)
    assert.match(r.stderr, /run failed in/)
    assert.doesNotMatch(all, /run succeeded/)
    assert.doesNotMatch(all, /\x1b/)
    assert.equal(existsSync(join(out, 'run.lock')), false, 'no lock is left behind')
    assert.ok(existsSync(join(out, 'report.html')), 'the report is written')
    assert.ok(existsSync(join(out, 'slow', 'stage.json')))
    for (const id of ['exit_inline', 'exit_timer', 'forty_two', 'text', 'nested', 'effect_never', 'promise_never', 'after']) assert.equal(existsSync(join(out, id, 'stage.json')), false, `${id} has no completion record`)
    const slowRecord = readFileSync(join(out, 'slow', 'stage.json'), 'utf8')

    const again = lorapipe(['run', '--resume', out], { cwd: dir, env: fixedEnv })
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /run succeeded in/)
    for (const id of ['exit_inline', 'exit_timer', 'forty_two', 'text', 'nested', 'effect_never', 'promise_never', 'after']) {
      assert.equal(JSON.parse(readFileSync(join(out, id, 'stage.json'), 'utf8')).outputs.result, id === 'after' ? 'slow' : 'ok', `${id} ran again`)
    }
    assert.equal(readFileSync(join(out, 'slow', 'stage.json'), 'utf8'), slowRecord, 'the stage that had finished is reused')
    assert.equal(existsSync(join(out, 'run.lock')), false)
  })

  test('a lone stage calling process.exit(0) ends a failed run (exit 1, RunFinished failed in --json), not a successful exit; --resume then finishes it', () => {
    const dir = pipeline({ only: { uses: 'exit-inline.mjs' } })
    const out = join(dir, 'run')
    const r = lorapipe(['run', 'p.yaml', '--out', out, '--json'], { cwd: dir })
    assert.equal(r.code, 1, r.stderr)
    const events = jsonLines(r.stdout)
    assert.match(events.find((e) => e._tag === 'StageFailed' && e.stage === 'only')?.error ?? '', /^called process\.exit\(0\)/)
    assert.equal(events.at(-1)?._tag, 'RunFinished')
    assert.equal(events.at(-1)?.status, 'failed')
    assert.equal(existsSync(join(out, 'run.lock')), false)
    assert.ok(existsSync(join(out, 'report.html')))

    const again = lorapipe(['run', '--resume', out, '--json'], { cwd: dir, env: fixedEnv })
    assert.equal(again.code, 0, again.stderr)
    assert.equal(jsonLines(again.stdout).at(-1)?.status, 'succeeded')
    assert.ok(existsSync(join(out, 'only', 'stage.json')))
  })

  test('a stage returning 42 fails; the run is reported failed, never "succeeded", and exits 1', () => {
    const dir = pipeline({ only: { uses: 'forty-two.mjs' } })
    const out = join(dir, 'run')
    const r = lorapipe(['run', 'p.yaml', '--out', out, '--json'], { cwd: dir })
    assert.equal(r.code, 1, r.stderr)
    const events = jsonLines(r.stdout)
    assert.deepEqual(events.filter((e) => e.stage === 'only').map((e) => e._tag), ['StageStarted', 'StageFailed'])
    assert.deepEqual(events.filter((e) => e._tag === 'RunFinished').map((e) => e.status), ['failed'])
    assert.equal(existsSync(join(out, 'only', 'stage.json')), false)
    assert.equal(existsSync(join(out, 'run.lock')), false)
  })

  test('a lone Promise that never settles ends a failed run with a message (exit 1, not 13) and releases the run folder', () => {
    const dir = pipeline({ only: { uses: 'promise-never.mjs' } })
    const out = join(dir, 'run')
    const r = lorapipe(['run', 'p.yaml', '--out', out], { cwd: dir })
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /\[only\] failed after [^:]+: never settled/)
    assert.match(r.stderr, /run failed in/)
    assert.equal(existsSync(join(out, 'run.lock')), false)
    assert.ok(existsSync(join(out, 'report.html')))
  })

  test('a stage calling process.exit(0) over and over from a timer cannot end the run early or successfully', () => {
    const dir = pipeline({ looping: { uses: 'exit-loop.mjs' }, slow: { uses: 'slow.mjs' } })
    const out = join(dir, 'run')
    const r = lorapipe(['run', 'p.yaml', '--out', out], { cwd: dir })
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /\[looping\] failed after [^:]+: called process\.exit\(0\)/)
    assert.match(r.stdout, /\[slow\] done in/)
    assert.doesNotMatch(r.stdout + r.stderr, /run succeeded/)
    assert.equal(existsSync(join(out, 'run.lock')), false)
    assert.ok(existsSync(join(out, 'report.html')))
  })

  test("lorapipe's own exits still work during a run: a second Ctrl-C ends it at once with 130", async () => {
    const dir = pipeline({ stubborn: { uses: 'stubborn.mjs' } })
    const child = startLorapipe(['run', 'p.yaml', '--out', join(dir, 'run')], { cwd: dir })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const until = (what: () => boolean, label: string) =>
      new Promise<void>((resolve, reject) => {
        const t0 = Date.now()
        const poll = setInterval(() => {
          if (!what() && Date.now() - t0 < 60_000) return
          clearInterval(poll)
          if (what()) resolve()
          else reject(new Error(`${label} not seen; stdout: ${stdout}; stderr: ${stderr}`))
        }, 20)
      })
    await until(() => stdout.includes('[stubborn] started'), 'the stage start')
    child.kill('SIGINT')
    await until(() => stderr.includes('stopping cleanly'), 'the first Ctrl-C')
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`lorapipe did not end on the second Ctrl-C; stderr: ${stderr}`))), 30_000)
      child.on('close', (c) => (clearTimeout(t), resolve(c)))
    })
    assert.equal(code, 130, stderr)
    assert.doesNotMatch(stderr, /called process\.exit/)
  })
})
