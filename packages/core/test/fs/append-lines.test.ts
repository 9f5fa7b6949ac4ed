// Log files appended line by line (events.jsonl): a line is there whole or not at all, whatever
// cut the last one short, and a failed write names its file.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lineAppender } from '../../src/fs/append-lines.ts'
import { writeFileSynced } from '../../src/fs/atomic.ts'
import { storageFailure } from '../../src/sweep/coordinator/unwritable.ts'

const dir = mkdtempSync(join(tmpdir(), 'append-lines-'))
after(() => rmSync(dir, { recursive: true, force: true }))

// /dev/full answers every write with ENOSPC: a full disk without mounting one.
const noDevFull = existsSync('/dev/full') ? false : 'skipped: no /dev/full on this system'

describe('appending lines', () => {
  test('a line cut short by a kill is cut off before the next one, not glued to it', () => {
    const f = join(dir, 'torn.jsonl')
    writeFileSync(f, '{"a":1}\n{"b":2}\n{"c":')
    const append = lineAppender(f)
    append('{"d":4}')
    append('{"e":5}')
    assert.equal(readFileSync(f, 'utf8'), '{"a":1}\n{"b":2}\n{"d":4}\n{"e":5}\n')
  })

  test('nothing is touched before the first append (a process refused the folder writes nothing)', () => {
    const f = join(dir, 'untouched.jsonl')
    writeFileSync(f, '{"a":1}\n{"b":')
    lineAppender(f)
    assert.equal(readFileSync(f, 'utf8'), '{"a":1}\n{"b":')
  })

  test('a write the disk refuses names the file (Node says only `write`) and is a storage failure', { skip: noDevFull }, () => {
    for (const write of [() => lineAppender('/dev/full')('{"a":1}'), () => writeFileSynced('/dev/full', 'data')]) {
      let caught: unknown
      try {
        write()
      } catch (e) {
        caught = e
      }
      assert.equal((caught as NodeJS.ErrnoException).code, 'ENOSPC')
      assert.equal((caught as NodeJS.ErrnoException).path, '/dev/full')
      assert.deepEqual(storageFailure(caught), { code: 'ENOSPC', path: '/dev/full' })
    }
  })
})
