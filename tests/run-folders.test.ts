// Run folders through the real `lorapipe` command: one run at a time in a folder (the second is
// refused naming the owner, a killed owner does not leave it stuck), never into someone else's
// files, `--resume` continues the run that was started (its own resolved config and stage code,
// not the pipeline file as it is now), and leftovers of a killed run are cleaned on resume.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, startLorapipe } from './support/cli.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-folders-'))
const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))

// A stage module with no imports but Node's: it writes its value (and a note) to a file. With
// \`gate\` it fails while the gate file does not exist, so a test can leave a run unfinished and
// resume it; with \`wait\` it waits for the file, so a test can hold a run at a known point.
const ECHO_STAGE = `import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
export default {
  name: 'echo',
  params: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'number' }, note: { type: 'string' }, gate: { type: 'string' }, wait: { type: 'string' } } },
  outputs: ['file'],
  run: async (p, ctx) => {
    if (p.gate && !existsSync(p.gate)) throw new Error('the gate ' + p.gate + ' is closed')
    while (p.wait && !existsSync(p.wait)) await sleep(20)
    const file = join(ctx.dir, 'value.txt')
    writeFileSync(file, p.value + ' ' + (p.note ?? ''))
    return { file }
  },
}
`

/** A folder with echo.mjs and a pipeline whose second stage waits for `<folder>/gate`. */
function gatedPipeline(value = 3): { dir: string; file: string; gate: string } {
  const dir = tmp()
  writeFileSync(join(dir, 'echo.mjs'), ECHO_STAGE)
  const gate = join(dir, 'gate')
  const file = join(dir, 'p.yaml')
  writeFileSync(
    file,
    [
      'name: gated',
      'vars:',
      `  value: ${value}`,
      'stages:',
      '  first:',
      '    uses: ./echo.mjs',
      '    with:',
      '      value: "${vars.value}"',
      '      note: "cost $${not_a_reference}"',
      '  second:',
      '    uses: ./echo.mjs',
      '    needs: first',
      '    with:',
      '      value: "${vars.value}"',
      `      gate: ${gate}`,
      '',
    ].join('\n'),
  )
  return { dir, file, gate }
}

/** Starts `lorapipe run` on a pipeline whose second stage waits for `<folder>/gate`; resolves once it waits. */
async function startWaitingRun(out: string) {
  const p = gatedPipeline()
  writeFileSync(p.file, readFileSync(p.file, 'utf8').replace('      gate: ', '      wait: '))
  const child = startLorapipe(['run', p.file, '--out', out, '--json'])
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the second stage did not start; stdout so far: ${stdout}`)), 90_000)
    const check = () => {
      if (/"StageStarted"[^\n]*"stage":"second"/.test(stdout)) {
        clearTimeout(t)
        child.stdout.off('data', check)
        resolve()
      }
    }
    child.stdout.on('data', check)
  })
  return { child, ...p }
}

describe('the run folder lock', () => {
  test('a second run or resume in a folder in use is refused (exit 2) naming the owner; after a kill -9, resume takes the folder over and cleans the leftovers', async () => {
    const out = join(tmp(), 'run')
    const { child, file, gate } = await startWaitingRun(out)
    const eventsBefore = lines(join(out, 'events.jsonl')).length
    const owner = new RegExp(`in use by process ${child.pid} on ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(since \\d{4}-\\d\\d-\\d\\dT`)
    const resume = lorapipe(['run', '--resume', out])
    assert.equal(resume.code, 2, resume.stderr)
    assert.match(resume.stderr, owner)
    assert.match(resume.stderr, /hint: wait for that run to finish .*run\.lock/)
    const again = lorapipe(['run', file, '--out', out])
    assert.equal(again.code, 2, again.stderr)
    assert.match(again.stderr, owner)
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    const ev = lines(join(out, 'events.jsonl'))
    assert.equal(ev.filter((e) => e._tag === 'RunStarted').length, 1, 'the refused runs wrote no events')
    assert.ok(ev.length >= eventsBefore)
    assert.ok(existsSync(join(out, 'run.lock')), 'SIGKILL leaves the lock file behind')

    // Leftovers as a killed writer leaves them, and things that are not lorapipe's temporary files.
    writeFileSync(join(out, 'second', '.value.txt.tmp-99999999-0123abcd'), 'half')
    mkdirSync(join(out, 'adapter.tmp-99999999-89abcdef'))
    writeFileSync(join(out, 'adapter.tmp-99999999-89abcdef', 'adapter_model.safetensors'), 'half')
    writeFileSync(join(out, 'second', 'notes.tmp'), 'kept')
    const beside = join(out, '..', '.other.json.tmp-99999999-0123abcd')
    writeFileSync(beside, 'outside the run folder')

    writeFileSync(gate, '')
    const resumed = lorapipe(['run', '--resume', out])
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stderr, /removed 2 temporary files left by the interrupted run/)
    assert.equal(readFileSync(join(out, 'second', 'value.txt'), 'utf8'), '3 ')
    assert.deepEqual(readdirSync(out, { recursive: true }).map(String).filter((f) => /\.tmp-\d+-/.test(f)), [])
    assert.equal(readFileSync(join(out, 'second', 'notes.tmp'), 'utf8'), 'kept')
    assert.ok(existsSync(beside), 'nothing outside the run folder is touched')
    assert.equal(existsSync(join(out, 'run.lock')), false, 'the lock is released at the end')
    assert.equal(lines(join(out, 'events.jsonl')).filter((e) => e._tag === 'RunStarted').length, 2)
  })

  test('a lock from another host is respected while its heartbeat is fresh, and taken over once it is old', () => {
    const p = gatedPipeline()
    writeFileSync(p.gate, '')
    const out = join(tmp(), 'run')
    mkdirSync(out)
    const lock = join(out, 'run.lock')
    writeFileSync(lock, JSON.stringify({ pid: 4242, host: 'elsewhere.example', nonce: 'x', since: Date.parse('2026-01-01T00:00:00Z') }))
    const busy = lorapipe(['run', p.file, '--out', out])
    assert.equal(busy.code, 2, busy.stderr)
    assert.match(busy.stderr, /in use by process 4242 on elsewhere\.example \(since 2026-01-01T00:00:00\.000Z\)/)
    assert.deepEqual(readdirSync(out), ['run.lock'], 'nothing written')
    const old = new Date(Date.now() - 11 * 60_000)
    utimesSync(lock, old, old)
    const r = lorapipe(['run', p.file, '--out', out])
    assert.equal(r.code, 0, r.stderr)
  })
})

describe('where a run may write', () => {
  test('a folder with someone\'s files in it is refused (exit 2) with the fix, from --out or output.dir; nothing in it changes', () => {
    const p = gatedPipeline()
    writeFileSync(p.gate, '')
    const mine = tmp()
    writeFileSync(join(mine, 'thesis.tex'), 'my work')
    mkdirSync(join(mine, 'first'))
    writeFileSync(join(mine, 'first', 'value.txt'), 'my value')
    const r = lorapipe(['run', p.file, '--out', mine])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /is not empty and is not a lorapipe run folder \(it holds first, thesis\.tex\)/)
    assert.match(r.stderr, /hint: choose a new or empty folder with --out \(or output\.dir\)/)
    writeFileSync(p.file, readFileSync(p.file, 'utf8') + `output:\n  dir: ${mine}\n`)
    const fromFile = lorapipe(['run', p.file])
    assert.equal(fromFile.code, 2, fromFile.stderr)
    assert.match(fromFile.stderr, /is not empty and is not a lorapipe run folder/)
    assert.deepEqual(readdirSync(mine).sort(), ['first', 'thesis.tex'])
    assert.equal(readFileSync(join(mine, 'first', 'value.txt'), 'utf8'), 'my value')
  })

  test('--out naming a file is refused; an empty folder is fine; a finished run is not run into again', () => {
    const p = gatedPipeline()
    writeFileSync(p.gate, '')
    const file = join(tmp(), 'a-file')
    writeFileSync(file, 'x')
    const r = lorapipe(['run', p.file, '--out', file])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /exists and is not a folder/)
    assert.equal(readFileSync(file, 'utf8'), 'x')
    const empty = tmp()
    const ok = lorapipe(['run', p.file, '--out', empty])
    assert.equal(ok.code, 0, ok.stderr)
    const again = lorapipe(['run', p.file, '--out', empty])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /already holds a run\n  hint: `lorapipe run --resume/)
  })
})

describe('--resume continues the run that was started', () => {
  test('from its own config.resolved.yaml: an edited pipeline file changes nothing, and the config is not rewritten', () => {
    const p = gatedPipeline(3)
    const out = join(tmp(), 'run')
    const first = lorapipe(['run', p.file, '--out', out])
    assert.equal(first.code, 1, first.stderr)
    assert.match(first.stderr, /the gate .* is closed/)
    const config = readFileSync(join(out, 'config.resolved.yaml'), 'utf8')
    writeFileSync(p.file, readFileSync(p.file, 'utf8').replace('value: 3', 'value: 9'))
    writeFileSync(p.gate, '')
    const r = lorapipe(['run', '--resume', out])
    assert.equal(r.code, 0, r.stderr)
    // The value the run started with, and `$${` stays the literal text it was resolved to.
    assert.equal(readFileSync(join(out, 'first', 'value.txt'), 'utf8'), '3 cost ${not_a_reference}')
    assert.equal(readFileSync(join(out, 'second', 'value.txt'), 'utf8'), '3 ')
    assert.equal(readFileSync(join(out, 'config.resolved.yaml'), 'utf8'), config)
    const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
    assert.equal(rec.resumes.length, 1)
    assert.deepEqual(rec.code.map((c: { stage: string; sha256: string }) => [c.stage, c.sha256.length]), [['first', 64], ['second', 64]])
  })

  test('a deleted pipeline file does not prevent resume', () => {
    const p = gatedPipeline(5)
    const out = join(tmp(), 'run')
    assert.equal(lorapipe(['run', p.file, '--out', out]).code, 1)
    renameSync(p.file, `${p.file}.gone`)
    writeFileSync(p.gate, '')
    const r = lorapipe(['run', '--resume', out])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(readFileSync(join(out, 'second', 'value.txt'), 'utf8'), '5 ')
  })

  test('changed stage code is refused (exit 2) naming the module; put back, the run resumes', () => {
    const p = gatedPipeline()
    const out = join(tmp(), 'run')
    assert.equal(lorapipe(['run', p.file, '--out', out]).code, 1)
    writeFileSync(p.gate, '')
    const code = join(p.dir, 'echo.mjs')
    appendFileSync(code, '// changed\n')
    const r = lorapipe(['run', '--resume', out])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /cannot resume the run in .*: stage `first`: its module .*echo\.mjs has changed since the run started \(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\)/)
    assert.match(r.stderr, /hint: a resumed run goes on with the code it started with/)
    writeFileSync(code, ECHO_STAGE)
    assert.equal(lorapipe(['run', '--resume', out]).code, 0)
  })

  test('a pipeline file or --set with --resume is an error (exit 2), not silently ignored', () => {
    const p = gatedPipeline()
    const out = join(tmp(), 'run')
    assert.equal(lorapipe(['run', p.file, '--out', out]).code, 1)
    const withFile = lorapipe(['run', p.file, '--resume', out])
    assert.equal(withFile.code, 2)
    assert.match(withFile.stderr, /--resume continues the run in .* so it takes no pipeline file; drop .*p\.yaml/)
    const withSet = lorapipe(['run', '--resume', out, '--set', 'vars.value=9'])
    assert.equal(withSet.code, 2)
    assert.match(withSet.stderr, /--set cannot change them/)
    const notARun = lorapipe(['run', '--resume', tmp()])
    assert.equal(notARun.code, 2)
    assert.match(notARun.stderr, /is not a run folder \(no run\.json\)/)
  })
})
