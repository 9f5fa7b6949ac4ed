// `lorapipe report --out PATH` never replaces what is not its own: a folder, a device, a FIFO or a
// socket is refused (exit 2) and left as it was; an existing file is replaced only when it is a
// report lorapipe wrote, or with --force.
import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, lorapipeAsync } from './support/cli.ts'
import { repoRoot } from './support/shared.ts'

const isRoot = process.getuid?.() === 0
let dir = ''
let run = ''

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lorapipe-report-out-'))
  run = join(dir, 'run')
  const r = lorapipe(['run', join(repoRoot, 'tests', 'fixtures', 'pipelines', 'baselines.yaml'), '--out', run, '--quiet'])
  assert.equal(r.code, 0, r.stderr)
})

function refused(out: string, message: RegExp) {
  const r = lorapipe(['report', run, '--out', out])
  assert.equal(r.code, 2, `${out}: ${r.stdout}${r.stderr}`)
  assert.match(r.stderr, message)
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  return r
}

describe('report --out', () => {
  test('a FIFO, a folder and a symbolic link to a FIFO are refused with exit 2 and stay as they were', () => {
    const fifo = join(dir, 'pipe')
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    refused(fifo, /error: .*pipe is a FIFO \(named pipe\), not a regular file; lorapipe writes only regular files and left it untouched\n  hint: /)
    assert.ok(lstatSync(fifo).isFIFO())
    const folder = join(dir, 'folder')
    mkdirSync(folder)
    refused(folder, /folder is a folder, not a regular file/)
    assert.deepEqual(readdirSync(folder), [])
    symlinkSync(fifo, join(dir, 'to-pipe'))
    refused(join(dir, 'to-pipe'), /pipe is a FIFO .*to-pipe is a symbolic link to it/)
    assert.ok(lstatSync(fifo).isFIFO())
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [])
  })

  test('a socket is refused and stays a socket', async () => {
    const sock = join(dir, 'sock')
    const server = createServer()
    await new Promise<void>((r) => server.listen(sock, r))
    try {
      // Not spawnSync: this process serves the socket.
      const r = await lorapipeAsync(['report', run, '--out', sock])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /sock is a socket, not a regular file/)
      assert.ok(lstatSync(sock).isSocket())
    } finally {
      await new Promise((r) => server.close(r))
    }
  })

  test('device nodes are refused and survive: /dev/null, /dev/full, and (as root) a copy of /dev/full made with mknod', () => {
    for (const d of ['/dev/null', '/dev/full']) {
      refused(d, new RegExp(`${d} is a character device, not a regular file`))
      assert.ok(statSync(d).isCharacterDevice(), `${d} is still a device`)
    }
    if (!isRoot) return
    const dev = join(dir, 'full')
    if (spawnSync('mknod', [dev, 'c', '1', '7']).status !== 0) return // no CAP_MKNOD here
    refused(dev, /full is a character device/)
    assert.ok(lstatSync(dev).isCharacterDevice(), 'the device node survives')
  })

  test("someone else's file is replaced only with --force; a lorapipe report is replaced; a link to one is written through", () => {
    const theirs = join(dir, 'index.html')
    writeFileSync(theirs, '<p>my page</p>\n')
    const r = refused(theirs, /index\.html exists and is not a report written by lorapipe; it was left as it is\n  hint: choose another --out, or pass --force/)
    assert.equal(r.stdout, '')
    assert.equal(readFileSync(theirs, 'utf8'), '<p>my page</p>\n')
    const forced = lorapipe(['report', run, '--out', theirs, '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(readFileSync(theirs, 'utf8'), /<meta name="generator" content="lorapipe report">/)
    // Now it is a lorapipe report: replaced without --force.
    const again = lorapipe(['report', run, '--out', theirs])
    assert.equal(again.code, 0, again.stderr)
    // --force never reaches past the file check: a FIFO is still refused.
    const fifo = join(dir, 'pipe-forced')
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    const f = lorapipe(['report', run, '--out', fifo, '--force'])
    assert.equal(f.code, 2)
    assert.ok(lstatSync(fifo).isFIFO())
    // A symbolic link to a report: the report is replaced, the link stays.
    const link = join(dir, 'latest.html')
    symlinkSync(theirs, link)
    assert.equal(lorapipe(['report', run, '--out', link]).code, 0)
    assert.ok(lstatSync(link).isSymbolicLink())
    assert.equal(readlinkSync(link), theirs)
  })

  test('a new path and the default <run dir>/report.html (written by the run) are written', () => {
    const fresh = join(dir, 'new', 'report.html')
    const r = lorapipe(['report', run, '--out', fresh])
    assert.equal(r.code, 0, r.stderr)
    assert.match(readFileSync(fresh, 'utf8'), /^<!doctype html>\n<html lang="en"><head><meta name="generator" content="lorapipe report">/)
    const d = lorapipe(['report', run])
    assert.equal(d.code, 0, d.stderr)
    assert.equal(d.stdout, `wrote ${join(run, 'report.html')}\n`)
  })
})
