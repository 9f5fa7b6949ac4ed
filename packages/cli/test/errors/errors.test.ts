// The CLI's top level turns every error into one line with the right exit code, and the number
// formats used by the report and the UI handle every finite double.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NotARegularFile } from '@lorapipe/core/fs/atomic.ts'
import { UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { describeFailure, errnoMessage } from '../../src/errors.ts'
import { UsageError } from '../../src/args.ts'
import { roundToUnit } from '../../src/output/format.ts'
import { niceTicks, tickLabel } from '../../src/report/svg-chart.ts'

const errnoOf = (f: () => unknown): NodeJS.ErrnoException => {
  try {
    f()
  } catch (e) {
    return e as NodeJS.ErrnoException
  }
  throw new Error('expected an error')
}

describe('describeFailure', () => {
  test('file-system errors name the path in words; a missing or misplaced path is bad input, a full disk a failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-err-'))
    const missing = errnoOf(() => readFileSync(join(dir, 'nope.yaml')))
    assert.deepEqual(describeFailure(missing), { message: `cannot open ${join(dir, 'nope.yaml')}: no such file or folder (ENOENT)`, code: 2 })
    const isDir = errnoOf(() => readFileSync(dir))
    assert.deepEqual(describeFailure(isDir), { message: "it is a folder (EISDIR, read)", code: 2 })
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: `${dir}/.report.html.tmp-12-ab12` })
    assert.deepEqual(describeFailure(full), { message: `cannot write to ${dir}/report.html: no space left on the device (ENOSPC)`, code: 1 })
    assert.equal(errnoMessage({ code: 'EROFS', syscall: 'mkdir', path: '/ro/x', message: '' }), 'cannot create the folder /ro/x: the file system is read-only (EROFS)')
  })

  test('tagged errors print their message and hint; usage errors are bad input; anything else is a bug report, without a stack', () => {
    const t = describeFailure(new NotARegularFile({ path: '/dev/full', kind: 'character device' }))
    assert.equal(t.code, 2)
    assert.match(t.message, /\/dev\/full is a character device/)
    assert.ok(t.hint)
    assert.deepEqual(describeFailure(new UsageError('--out needs a folder path')), { message: '--out needs a folder path', code: 2 })
    const fifo = describeFailure(new UserFileError({ path: '/tmp/p.yaml', problem: 'special file', kind: 'FIFO (named pipe)', what: 'pipeline or sweep file' }))
    assert.deepEqual(fifo, { message: '/tmp/p.yaml is a FIFO (named pipe), not a regular file', hint: fifo.hint, code: 2 })
    assert.match(fifo.hint!, /reads only regular files/)
    const bug = describeFailure(new TypeError('x is undefined\n    at f (file.ts:1:1)'))
    assert.equal(bug.code, 1)
    assert.doesNotMatch(bug.message, /at f/)
  })
})

describe('number formats for every finite double', () => {
  test('roundToUnit removes float noise at any magnitude', () => {
    assert.equal(roundToUnit(0.1 + 0.2, 0.1), 0.3)
    assert.equal(roundToUnit(3e-121 + 1e-121, 1e-121), 4e-121)
    assert.equal(roundToUnit(1.7976931348623157e308, 1e307), 1.7976931348623157e308) // rounding up would overflow
    assert.equal(roundToUnit(5e-324, 5e-324), 5e-324)
  })

  test('chart ticks for a learning rate of 1e-120 (toFixed cannot take 122 digits)', () => {
    const ticks = niceTicks(0, 1e-120)
    assert.ok(ticks.length >= 3)
    assert.equal(ticks[0], 0)
    assert.equal(ticks.at(-1), 1e-120)
    assert.equal(tickLabel(1e-120), '1.0e-120')
    for (const [lo, hi] of [[1e-300, 3e-300], [1e300, 1.5e300], [-1e-200, 1e-200], [5e-324, 1e-323]]) assert.ok(niceTicks(lo!, hi!).every(Number.isFinite), `${lo}..${hi}`)
  })
})
