// Whether a pid names a live process: what run locks and a sweep's leftover trials rely on.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { processAlive, processCommandLine, processStart } from '../../src/os/process.ts'
import { lockRunFolder, RunFolderBusy } from '../../src/run/lock.ts'
import { writeFileAtomic } from '../../src/fs/atomic.ts'

const linux = process.platform === 'linux'

/**
 * A real zombie: `sh` starts `sleep 0` and becomes `sleep 30` (exec), which never reaps it. This is
 * what a sweep's orphaned trial becomes once it exits where the container's init does not reap.
 */
async function zombie(): Promise<{ pid: number; stop: () => void }> {
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] })
  const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
  // Wait until `sleep 0` has exited (it stays a zombie until its parent goes).
  for (let i = 0; i < 100 && processStart(pid) !== undefined && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 20))
  return { pid, stop: () => parent.kill('SIGKILL') }
}

describe('process liveness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'process-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('this process is alive and has a start time and command line; a pid that exited is not alive', async () => {
    assert.equal(processAlive(process.pid), true)
    if (linux) {
      assert.ok(processStart(process.pid)! > 0)
      assert.ok(processCommandLine(process.pid)!.includes('node'))
    }
    const child = spawn(process.execPath, ['-e', ''])
    await new Promise((r) => child.on('close', r))
    assert.equal(processAlive(child.pid!), false)
  })

  test('a zombie (exited, not reaped) is not alive, and its run lock is taken over', { skip: linux ? false : 'needs /proc (Linux)' }, async () => {
    const z = await zombie()
    try {
      assert.doesNotThrow(() => process.kill(z.pid, 0), 'kill(pid, 0) still answers for a zombie')
      assert.equal(processAlive(z.pid), false)
      const folder = join(dir, 'run')
      mkdirSync(folder)
      writeFileAtomic(join(folder, 'run.lock'), JSON.stringify({ pid: z.pid, host: hostname(), nonce: 'x', since: Date.now(), start: processStart(z.pid) }))
      const lock = lockRunFolder(folder)
      assert.ok(!(lock instanceof RunFolderBusy), 'the lock of a zombie is taken over')
      lock.release()
    } finally {
      z.stop()
    }
  })
})
