import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { acquireLock } from '../../src/hub/lock.ts'
import { tempDir } from './fixtures.ts'

const t = tempDir()
after(t.cleanup)

test('the lock file records its holder and is removed on release', async () => {
  const path = join(t.dir, 'a', 'etag.lock')
  const lock = await acquireLock(path)
  const holder = JSON.parse(readFileSync(path, 'utf8'))
  assert.equal(holder.pid, process.pid)
  assert.equal(holder.host, hostname())
  lock.release()
  assert.equal(existsSync(path), false)
})

test('a lock held by a live process is waited for; with a time limit the error names the holder and the lock file', async () => {
  const path = join(t.dir, 'busy.lock')
  const held = await acquireLock(path)
  const waits: string[] = []
  await assert.rejects(acquireLock(path, { timeoutMs: 150, pollMs: 20, onWait: (h) => waits.push(h) }), (e: unknown) => {
    const err = e as { _tag: string; message: string }
    assert.equal(err._tag, 'HubLockError')
    assert.match(err.message, new RegExp(`process ${process.pid}`))
    assert.match(err.message, /busy\.lock/)
    return true
  })
  assert.equal(waits.length, 1)
  held.release()
  ;(await acquireLock(path, { timeoutMs: 1000 })).release()
})

test('a lock left by a dead process on this host is taken over at once', async () => {
  const path = join(t.dir, 'dead.lock')
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!
  writeFileSync(path, JSON.stringify({ pid: dead, host: hostname(), nonce: 'x', since: Date.now() }))
  const lock = await acquireLock(path, { timeoutMs: 500 })
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid)
  lock.release()
})

test("an old empty lock file (as Python's filelock leaves behind) is stale; a fresh one is respected", async () => {
  const old = join(t.dir, 'python-old.lock')
  writeFileSync(old, '')
  const past = new Date(Date.now() - 5 * 60_000)
  utimesSync(old, past, past)
  ;(await acquireLock(old, { timeoutMs: 500 })).release()

  const fresh = join(t.dir, 'python-fresh.lock')
  writeFileSync(fresh, '')
  await assert.rejects(acquireLock(fresh, { timeoutMs: 100, pollMs: 20 }), (e: unknown) => (e as { _tag: string })._tag === 'HubLockError')
})
