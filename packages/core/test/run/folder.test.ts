// What a run folder may be used for, and what a resume cleans up in it.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspectRunFolder } from '../../src/run/folder.ts'
import { removeLeftovers } from '../../src/run/leftovers.ts'
import { lockRunFolder, RunFolderBusy, runFolderOwner, RUN_LOCK } from '../../src/run/lock.ts'

const dir = mkdtempSync(join(tmpdir(), 'run-folder-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const folder = (files: Record<string, string> = {}) => {
  const d = join(dir, `f${++n}`)
  mkdirSync(d)
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(d, f, '..'), { recursive: true })
    writeFileSync(join(d, f), text)
  }
  return d
}

describe('inspectRunFolder', () => {
  test('tells absent, empty, a run, a file and someone else\'s folder apart', () => {
    assert.deepEqual(inspectRunFolder(join(dir, 'nothing')), { kind: 'absent' })
    assert.deepEqual(inspectRunFolder(folder()), { kind: 'empty' })
    assert.deepEqual(inspectRunFolder(folder({ 'run.json': '{}', 'events.jsonl': '' })), { kind: 'run' })
    writeFileSync(join(dir, 'file'), 'x')
    assert.deepEqual(inspectRunFolder(join(dir, 'file')), { kind: 'not a folder' })
    assert.deepEqual(inspectRunFolder(folder({ 'thesis.tex': 'mine', 'data/x.csv': '1' })), { kind: 'foreign', entries: ['data', 'thesis.tex'] })
  })

  test('a run killed before run.json (lock, resolved config, a temporary file) counts as empty', () => {
    assert.deepEqual(inspectRunFolder(folder({ [RUN_LOCK]: '{}', 'config.resolved.yaml': 'name: x\n', '.run.json.tmp-99-0123abcd': '' })), { kind: 'empty' })
  })
})

describe('the run folder lock', () => {
  test('one holder at a time, named in the refusal; free again after release', () => {
    const d = folder()
    const lock = lockRunFolder(d)
    assert.ok(!(lock instanceof RunFolderBusy))
    const second = lockRunFolder(d)
    assert.ok(second instanceof RunFolderBusy)
    assert.match(second.message, new RegExp(`run folder ${d} is in use by process ${process.pid} on .* \\(since `))
    assert.match(second.hint, /if no such process is running, delete .*run\.lock/)
    assert.match(runFolderOwner(d) ?? '', new RegExp(`process ${process.pid}`))
    lock.release()
    assert.equal(runFolderOwner(d), undefined)
    assert.equal(existsSync(join(d, RUN_LOCK)), false)
  })
})

describe('removeLeftovers', () => {
  test('removes only lorapipe\'s temporary names of other processes, inside the folder, without following links', () => {
    const outside = folder({ '.victim.json.tmp-1-0123abcd': 'not in the run folder' })
    const d = folder({
      '.metrics.json.tmp-12345-0123abcd': 'half',
      'adapter.tmp-12345-89abcdef/adapter_model.safetensors': 'half',
      'checkpoints/.step-10.tmp-12345-deadbeef/trainer_state.json': '{',
      'checkpoints/step-5/trainer_state.json': '{}',
      [`.mine.json.tmp-${process.pid}-0123abcd`]: 'being written by this process',
      'notes.tmp': 'the user\'s',
      'adapter/adapter_config.json': '{}',
    })
    symlinkSync(outside, join(d, 'linked'))
    const removed = removeLeftovers(d).map((p) => p.slice(d.length + 1))
    assert.deepEqual(removed, ['.metrics.json.tmp-12345-0123abcd', 'adapter.tmp-12345-89abcdef', 'checkpoints/.step-10.tmp-12345-deadbeef'])
    assert.deepEqual(readdirSync(d).sort(), [`.mine.json.tmp-${process.pid}-0123abcd`, 'adapter', 'checkpoints', 'linked', 'notes.tmp'].sort())
    assert.deepEqual(readdirSync(join(d, 'checkpoints')), ['step-5'])
    assert.ok(existsSync(join(outside, '.victim.json.tmp-1-0123abcd')), 'nothing outside the run folder is touched')
  })
})
