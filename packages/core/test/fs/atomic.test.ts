// The one writer every file goes through: whole or nothing, and never a replacement of anything
// that is not a regular file (a rename would replace a device node, a FIFO or a socket silently).
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isTempFile, NotARegularFile, tempFileOwner, tempPathFor, writeFileAtomic, writeJsonAtomic } from '../../src/fs/atomic.ts'

const dir = mkdtempSync(join(tmpdir(), 'atomic-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const isRoot = process.getuid?.() === 0

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path])
  assert.equal(r.status, 0, `mkfifo: ${r.stderr}`)
}

function refuses(target: string, kind: RegExp): NotARegularFile {
  let caught: unknown
  try {
    writeFileAtomic(target, 'data')
  } catch (e) {
    caught = e
  }
  assert.ok(caught instanceof NotARegularFile, `expected NotARegularFile for ${target}, got ${String(caught)}`)
  assert.equal(caught._tag, 'NotARegularFile')
  assert.match(caught.kind, kind)
  assert.match(caught.message, /not a regular file; lorapipe writes only regular files and left it untouched/)
  return caught
}

const noTemps = (d: string) => assert.deepEqual(readdirSync(d).filter(isTempFile), [], `no temporary files left in ${d}`)

describe('writeFileAtomic', () => {
  test('writes a new file and replaces a regular file, creating folders, leaving no temporary file', () => {
    const f = join(dir, 'a', 'b', 'out.json')
    writeJsonAtomic(f, { x: 1 })
    assert.deepEqual(JSON.parse(readFileSync(f, 'utf8')), { x: 1 })
    writeFileAtomic(f, 'second')
    assert.equal(readFileSync(f, 'utf8'), 'second')
    noTemps(join(dir, 'a', 'b'))
  })

  test('refuses a folder, naming it', () => {
    const d = join(dir, 'folder')
    mkdirSync(d)
    writeFileSync(join(d, 'keep.txt'), 'mine')
    const e = refuses(d, /^folder$/)
    assert.equal(e.path, d)
    assert.match(e.hint, /name a file/)
    assert.equal(readFileSync(join(d, 'keep.txt'), 'utf8'), 'mine')
    noTemps(dir)
  })

  test('refuses a FIFO, which stays a FIFO (and the writer does not block on it)', () => {
    const f = join(dir, 'pipe')
    mkfifo(f)
    refuses(f, /FIFO/)
    assert.ok(lstatSync(f).isFIFO())
    noTemps(dir)
  })

  test('refuses a socket, which stays a socket', async () => {
    const s = join(dir, 'sock')
    const server = createServer()
    await new Promise<void>((r) => server.listen(s, r))
    try {
      refuses(s, /socket/)
      assert.ok(lstatSync(s).isSocket())
    } finally {
      await new Promise((r) => server.close(r))
    }
  })

  test('refuses a character device (its own node, made with mknod, as root), which survives', { skip: isRoot ? false : 'skipped: mknod needs root' }, () => {
    // A copy of /dev/full's node (major 1, minor 7) in the test's folder, so a bug could only ever
    // replace this node, never the system's device.
    const dev = join(dir, 'full')
    const r = spawnSync('mknod', [dev, 'c', '1', '7'])
    if (r.status !== 0) return // a container without CAP_MKNOD: nothing to test here
    refuses(dev, /character device/)
    const st = lstatSync(dev)
    assert.ok(st.isCharacterDevice(), 'the device node is still a device')
    assert.ok(statSync('/dev/full').isCharacterDevice())
    noTemps(dir)
  })

  test('refuses /dev/null and /dev/full without touching them', () => {
    for (const d of ['/dev/null', '/dev/full']) {
      if (!existsSync(d)) continue
      refuses(d, /character device/)
      assert.ok(statSync(d).isCharacterDevice(), `${d} is still a device`)
    }
    assert.deepEqual(readdirSync('/dev').filter(isTempFile), [])
  })

  test('a symbolic link to a FIFO or a folder is refused, naming both; one that leads nowhere too', () => {
    const fifo = join(dir, 'pipe2')
    mkfifo(fifo)
    const link = join(dir, 'to-pipe')
    symlinkSync(fifo, link)
    const e = refuses(link, /FIFO/)
    assert.equal(e.path, fifo)
    assert.equal(e.via, link)
    assert.match(e.message, /to-pipe is a symbolic link to it/)
    symlinkSync(dir, join(dir, 'to-folder'))
    refuses(join(dir, 'to-folder'), /^folder$/)
    symlinkSync(join(dir, 'missing', 'x'), join(dir, 'dangling'))
    refuses(join(dir, 'dangling'), /leads nowhere/)
    assert.ok(lstatSync(join(dir, 'dangling')).isSymbolicLink())
  })

  test('a symbolic link to a regular file is followed: the file is replaced, the link stays', () => {
    const real = join(dir, 'real.txt')
    writeFileSync(real, 'old')
    const link = join(dir, 'link.txt')
    symlinkSync(real, link)
    writeFileAtomic(link, 'new')
    assert.ok(lstatSync(link).isSymbolicLink())
    assert.equal(readlinkSync(link), real)
    assert.equal(readFileSync(real, 'utf8'), 'new')
    noTemps(dir)
  })
})

describe('temporary names', () => {
  test('are recognised with their owner, for files and for folders written the same way', () => {
    const t = tempPathFor(join(dir, 'metrics.json')).slice(dir.length + 1)
    assert.ok(isTempFile(t), t)
    assert.equal(tempFileOwner(t), process.pid)
    assert.equal(tempFileOwner('adapter.tmp-4242-0123abcd'), 4242)
    assert.equal(tempFileOwner('.step-10.tmp-77-deadbeef'), 77)
    for (const other of ['adapter', 'notes.tmp', 'x.tmp-12-xyz', 'x.tmp-abc-0123abcd', '.tmp-1-0123abcd', 'run.lock']) assert.equal(isTempFile(other), false, other)
  })
})
