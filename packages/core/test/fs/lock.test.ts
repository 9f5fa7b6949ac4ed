// The lock file shared by the hub cache and run folders: who holds it, when it is stale.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { lockIsLive, LockBusy, tryAcquireLock, type LockHandle } from '../../src/fs/lock.ts'

const dir = mkdtempSync(join(tmpdir(), 'lock-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!
const age = (path: string, ms: number) => {
  const past = new Date(Date.now() - ms)
  utimesSync(path, past, past)
}
const holder = (over: Record<string, unknown>) => JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'n', since: Date.parse('2026-01-02T03:04:05Z'), ...over })

function held(r: LockHandle | LockBusy): LockHandle {
  assert.ok(!(r instanceof LockBusy), r instanceof LockBusy ? r.message : '')
  return r
}

describe('tryAcquireLock', () => {
  test('records pid, host and start time; a second attempt is refused naming the holder; release frees it', () => {
    const path = join(dir, 'a.lock')
    const lock = held(tryAcquireLock(path))
    const h = JSON.parse(readFileSync(path, 'utf8'))
    assert.equal(h.pid, process.pid)
    assert.equal(h.host, hostname())
    if (existsSync('/proc/self/stat')) assert.equal(typeof h.start, 'number')
    const busy = tryAcquireLock(path)
    assert.ok(busy instanceof LockBusy)
    assert.match(busy.holder, new RegExp(`^process ${process.pid} on ${hostname()} \\(since \\d{4}-`))
    lock.release()
    assert.equal(existsSync(path), false)
    held(tryAcquireLock(path)).release()
  })

  test('a holder that is a dead process on this host is stale at once', () => {
    const path = join(dir, 'dead.lock')
    writeFileSync(path, holder({ pid: deadPid() }))
    const lock = held(tryAcquireLock(path, { trustLocalPid: true }))
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid)
    lock.release()
  })

  test('a pid reused by another process (its start time differs) is stale', { skip: existsSync('/proc/self/stat') ? false : 'skipped: no /proc' }, () => {
    const path = join(dir, 'reused.lock')
    writeFileSync(path, holder({ start: 1 }))
    held(tryAcquireLock(path, { trustLocalPid: true })).release()
  })

  test('with trustLocalPid, a live local holder is never stale, however old its heartbeat', () => {
    const path = join(dir, 'busy-local.lock')
    writeFileSync(path, holder({ nonce: 'other' }))
    age(path, 24 * 3600_000)
    assert.ok(tryAcquireLock(path, { trustLocalPid: true, staleMs: 1000 }) instanceof LockBusy)
    assert.match(lockIsLive(path, { trustLocalPid: true, staleMs: 1000 }) ?? '', /since 2026-01-02T03:04:05\.000Z/)
    // Without it (the hub's rule), an old heartbeat is stale whoever holds it.
    assert.equal(lockIsLive(path, { staleMs: 1000 }), undefined)
  })

  test('a holder on another host is judged by its heartbeat', () => {
    const path = join(dir, 'remote.lock')
    writeFileSync(path, holder({ pid: 1, host: 'elsewhere.example' }))
    const busy = tryAcquireLock(path, { trustLocalPid: true, staleMs: 60_000 })
    assert.ok(busy instanceof LockBusy)
    assert.match(busy.holder, /process 1 on elsewhere\.example/)
    age(path, 120_000)
    held(tryAcquireLock(path, { trustLocalPid: true, staleMs: 60_000 })).release()
  })

  test('the holder refreshes the heartbeat while it holds the lock', async () => {
    const path = join(dir, 'beat.lock')
    const lock = held(tryAcquireLock(path, { staleMs: 200 }))
    age(path, 10_000)
    // Within a few beats (every staleMs/4) it is fresh again; waited for, not timed.
    for (let i = 0; i < 100 && !lockIsLive(path, { staleMs: 200 }); i++) await new Promise((r) => setTimeout(r, 50))
    assert.ok(lockIsLive(path, { staleMs: 200 }), 'the heartbeat made the lock fresh again')
    lock.release()
  })
})
