// The one reader of files the user names: a regular file within its kind's limit is read; a
// folder, a FIFO, a device, a socket, a symbolic link loop or a file over the limit is refused at
// once, by path, in words. A hang here would hang the suite: every test has a timeout.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkUserFile, FILE_KINDS, readUserFile, readUserFileAsync, readUserText, UserFileError, userFileProblem, type FileKind } from '../../src/fs/user-file.ts'

const dir = mkdtempSync(join(tmpdir(), 'user-file-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const at = (name: string) => join(dir, name)
const quick = { timeout: 5_000 }
const small: FileKind = { what: 'test file', maxBytes: 100 }

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path])
  assert.equal(r.status, 0, `mkfifo: ${r.stderr}`)
}

/** The error each reader (bytes, text, async, check) gives for `path`; they must agree. */
async function refusal(path: string, kind: FileKind = small): Promise<UserFileError> {
  const errors: unknown[] = []
  for (const read of [readUserFile, readUserText, checkUserFile]) {
    try {
      read(path, kind)
      errors.push(undefined)
    } catch (e) {
      errors.push(e)
    }
  }
  errors.push(await readUserFileAsync(path, kind).then(() => undefined, (e: unknown) => e))
  for (const e of errors) assert.ok(e instanceof UserFileError, `expected UserFileError for ${path}, got ${String(e)}`)
  const [first, ...rest] = errors as UserFileError[]
  for (const e of rest) assert.equal(e.message, first!.message)
  assert.equal(first!._tag, 'UserFileError')
  assert.equal(first!.path, path)
  assert.ok(first!.message.startsWith(`${path} `), first!.message)
  assert.equal(userFileProblem(path, kind)?.message, first!.message)
  return first!
}

describe('readUserFile reads', () => {
  test('a regular file, as bytes, text, or without blocking, and says it may be read', quick, async () => {
    writeFileSync(at('ok.yaml'), 'name: x\n')
    assert.deepEqual(readUserFile(at('ok.yaml'), small), Buffer.from('name: x\n'))
    assert.equal(readUserText(at('ok.yaml'), small), 'name: x\n')
    assert.deepEqual(await readUserFileAsync(at('ok.yaml'), small), Buffer.from('name: x\n'))
    assert.deepEqual(checkUserFile(at('ok.yaml'), small), { size: 8 })
    assert.equal(userFileProblem(at('ok.yaml'), small), undefined)
  })

  test('a file larger than its first buffer, whole, and an empty file as empty', quick, async () => {
    const big = Buffer.alloc(300_000, 7)
    big[299_999] = 9
    writeFileSync(at('big.bin'), big)
    assert.deepEqual(readUserFile(at('big.bin'), FILE_KINDS.weights), big)
    assert.deepEqual(await readUserFileAsync(at('big.bin'), FILE_KINDS.weights), big)
    writeFileSync(at('empty.tsv'), '')
    assert.equal(readUserText(at('empty.tsv'), FILE_KINDS.textData), '')
  })

  test('a file of exactly the limit, and a file through a symbolic link', quick, () => {
    writeFileSync(at('hundred'), 'x'.repeat(100))
    assert.equal(readUserText(at('hundred'), small).length, 100)
    symlinkSync(at('hundred'), at('link-to-hundred'))
    assert.equal(readUserText(at('link-to-hundred'), small).length, 100)
  })

  test('a /proc file, which says it holds 0 bytes, whole', { ...quick, skip: existsSync('/proc/self/status') ? false : 'no /proc here' }, () => {
    assert.match(readUserText('/proc/self/status', FILE_KINDS.config), /^Name:/m)
  })
})

describe('readUserFile refuses, naming the path and the problem', () => {
  test('a folder', quick, async () => {
    mkdirSync(at('folder.yaml'))
    const e = await refusal(at('folder.yaml'), FILE_KINDS.yaml)
    assert.equal(e.problem, 'folder')
    assert.equal(e.message, `${at('folder.yaml')} is a folder, not a file`)
    assert.equal(e.hint, 'give the path of a .yaml file')
  })

  test('a FIFO with no writer, at once (it is never opened for a blocking read)', quick, async () => {
    mkfifo(at('fifo.yaml'))
    const e = await refusal(at('fifo.yaml'))
    assert.equal(e.problem, 'special file')
    assert.equal(e.message, `${at('fifo.yaml')} is a FIFO (named pipe), not a regular file`)
    assert.match(e.hint, /reads only regular files/)
  })

  test('a symbolic link to /dev/zero, which would never end, naming where it leads', { ...quick, skip: existsSync('/dev/zero') ? false : 'no /dev/zero here' }, async () => {
    symlinkSync('/dev/zero', at('zero.yaml'))
    const e = await refusal(at('zero.yaml'))
    assert.equal(e.message, `${at('zero.yaml')} is a character device, not a regular file (through a symbolic link to /dev/zero)`)
  })

  test('/dev/null, a device that reads as empty, is a device and not an empty file', { ...quick, skip: existsSync('/dev/null') ? false : 'no /dev/null here' }, async () => {
    const e = await refusal('/dev/null')
    assert.equal(e.kind, 'character device')
  })

  test('a socket', quick, async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(at('sock'), resolve))
    try {
      assert.equal((await refusal(at('sock'))).kind, 'socket')
    } finally {
      server.close()
    }
  })

  test('a symbolic link loop, as a loop (not "no such file")', quick, async () => {
    symlinkSync(at('loop-b'), at('loop-a'))
    symlinkSync(at('loop-a'), at('loop-b'))
    const e = await refusal(at('loop-a'))
    assert.equal(e.problem, 'symbolic link loop')
    assert.match(e.message, /loop-a is a symbolic link loop/)
  })

  test('a missing file, and a link to a missing file as such', quick, async () => {
    assert.equal((await refusal(at('nope.yaml'))).message, `${at('nope.yaml')} does not exist`)
    symlinkSync('gone.yaml', at('dangling.yaml'))
    assert.equal((await refusal(at('dangling.yaml'))).message, `${at('dangling.yaml')} is a symbolic link to gone.yaml, which does not exist`)
  })

  test('a path through a file', quick, async () => {
    writeFileSync(at('plain'), 'x')
    const e = await refusal(join(at('plain'), 'config.json'))
    assert.equal(e.problem, 'path through a file')
    assert.match(e.message, /a part of the path is a file, not a folder/)
  })

  test('a file over the limit, before reading it, naming both sizes', quick, async () => {
    writeFileSync(at('big.yaml'), 'x'.repeat(5 * 1024 * 1024))
    const e = await refusal(at('big.yaml'), FILE_KINDS.yaml)
    assert.equal(e.problem, 'too large')
    assert.equal(e.message, `${at('big.yaml')} is 5.0 MiB; a pipeline or sweep file may be at most 4.0 MiB`)
    assert.match(e.hint, /is this the right file\?/)
    writeFileSync(at('hundred-and-one'), 'x'.repeat(101))
    assert.equal((await refusal(at('hundred-and-one'))).size, 101)
  })

  test('a /proc file longer than the limit, though it says it holds 0 bytes', { ...quick, skip: existsSync('/proc/self/status') ? false : 'no /proc here' }, () => {
    assert.throws(() => readUserFile('/proc/self/status', small), (e: unknown) => e instanceof UserFileError && e.problem === 'too large' && /is larger than 100 bytes, the most a test file may be/.test(e.message))
  })

  test('a file that cannot be read for want of permission', { ...quick, skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async () => {
    writeFileSync(at('secret'), 'x', { mode: 0o000 })
    assert.equal((await refusal(at('secret'))).problem, 'permission denied')
  })
})
