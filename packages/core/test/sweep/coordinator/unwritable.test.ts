// A sweep folder that cannot be written: which errors say so, and what the message tells the user.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { savedText, storageFailure, storageFailureIn, SweepFolderUnwritable } from '../../../src/sweep/coordinator/unwritable.ts'

const errno = (code: string, path?: string) => Object.assign(new Error(`${code}: oops`), { code, ...(path ? { path } : {}) })

describe('a sweep folder that cannot be written', () => {
  test('full, over quota, read-only, refused or failing are storage failures, named by their file (a temporary file by its target); a missing file is not', () => {
    assert.deepEqual(storageFailure(errno('ENOSPC', '/s/.leaderboard.json.tmp-12-0a1b2c3d')), { code: 'ENOSPC', path: '/s/leaderboard.json' })
    for (const code of ['EDQUOT', 'EROFS', 'EACCES', 'EIO']) assert.equal(storageFailure(errno(code))?.code, code)
    assert.equal(storageFailure(errno('ENOENT', '/s/x')), undefined)
    assert.equal(storageFailure(new Error('no code')), undefined)
    // Wrapped (Effect's FiberFailure carries the error as its cause).
    assert.equal(storageFailure({ cause: errno('ENOSPC') })?.code, 'ENOSPC')
  })

  test("a trial's own report of a full disk counts wherever it names; a refused read elsewhere is the trial's own failure", () => {
    const trial = '/s/trials/0003'
    assert.deepEqual(storageFailureIn('exited with code 1\nerror: cannot write to /s/trials/0003/events.jsonl: no space left on the device (ENOSPC)', trial), { code: 'ENOSPC', path: '/s/trials/0003/events.jsonl' })
    assert.deepEqual(storageFailureIn('warning: could not write the report: ENOSPC: no space left on device, write', trial), { code: 'ENOSPC' })
    assert.deepEqual(storageFailureIn("stage `train` failed: ENOSPC: no space left on device, open '/cache/hub/model.safetensors'", trial), { code: 'ENOSPC', path: '/cache/hub/model.safetensors' })
    assert.deepEqual(storageFailureIn("EACCES: permission denied, open '/s/trials/0003/train/metrics.json'", trial), { code: 'EACCES', path: '/s/trials/0003/train/metrics.json' })
    assert.equal(storageFailureIn("stage `train` failed: EACCES: permission denied, open '/data/secret.tsv'", trial), undefined)
    assert.equal(storageFailureIn('stage `train` failed: needs columns `sentence` and `sentiment`', trial), undefined)
  })

  test('the message names the file, what the record holds and how to go on', () => {
    const e = new SweepFolderUnwritable({ dir: '/s', path: '/s/events.jsonl', errno: 'ENOSPC', saved: savedText([{ number: 0, state: 'completed' }, { number: 1, state: 'pruned' }, { number: 2, state: 'running' }]) })
    assert.equal(e.message, 'cannot write /s/events.jsonl: no space left on the device (ENOSPC). The sweep stopped; its record (sweep.jsonl) holds every trial up to now: 2 finished; trial 2 is unfinished and will continue from its last checkpoint.')
    assert.equal(e.hint, 'free some space, then `lorapipe sweep --resume /s` continues the sweep')
    assert.equal(new SweepFolderUnwritable({ dir: '/s', path: '/s', errno: 'EROFS', saved: savedText([]) }).hint, 'make /s writable, then `lorapipe sweep --resume /s` continues the sweep')
    assert.match(savedText([{ number: 3, state: 'running' }, { number: 4, state: 'running' }]), /0 finished; trials 3, 4 are unfinished and will continue from their last checkpoint\.$/)
    // Not mistaken for Node's own errno error by the CLI's error printer (no `code`).
    assert.equal((e as unknown as { code?: string }).code, undefined)
  })
})
