// Reaching the queue's Redis, against real redis-servers: the password from LORAPIPE_QUEUE_PASSWORD
// or a file (never on the command line that `ps` shows); a wrong password or user, a missing one or
// one too many said at once with exit 2 (Redis's own words intact, the password nowhere); Redis down
// said within seconds; SIGTERM and Ctrl-C ending any wait for Redis at once, before the first
// connection and after it; and rediss:// (TLS) with a private CA given through NODE_EXTRA_CA_CERTS.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipeAsync } from './support/cli.ts'
import { freePort, makeTestTls, needsRedis, startRedis, type TestRedis } from './support/redis.ts'
import { repoRoot } from './support/shared.ts'
import { board, bowProject, killChildren, record, start, sweepFile, waitFor, type Proc } from './support/queue.ts'
import { queueNameOf, sweepIdOf } from '../packages/queue/src/registry.ts'

const servers: TestRedis[] = []
after(async () => {
  killChildren()
  await Promise.all(servers.map((s) => s.stop()))
})
async function redis(opts: Parameters<typeof startRedis>[0] = {}) {
  const r = await startRedis(opts)
  servers.push(r)
  return r
}
const tmp = () => realpathSync(mkdtempSync(join(tmpdir(), 'lorapipe-connect-')))
const bowGrid = join(repoRoot, 'tests', 'fixtures', 'sweeps', 'bow-grid.yaml')

/**
 * The exit code of a process that must end by itself. One still waiting after `guardMs` fails the
 * test: the guard tells "ends" from "waits forever" (what a refused password used to do), with room
 * for a loaded machine; how quickly it ends is measured, not asserted.
 */
async function ends(p: Proc, what: string, guardMs = 60_000): Promise<number | null> {
  const code = await Promise.race([p.exited, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), guardMs).unref())])
  if (code === 'waiting') {
    p.child.kill('SIGKILL')
    assert.fail(`${what}: still waiting after ${guardMs / 1000} s\n${p.out()}`)
  }
  return code
}

describe('the queue password and the first connection to Redis', { skip: needsRedis, concurrency: true }, () => {
  it('takes the password from LORAPIPE_QUEUE_PASSWORD or from the first line of --queue-password-file, and ps never shows it', async () => {
    const password = 'pw-Kept-0ff-argv'
    const r = await redis({ password })
    const dir = tmp()
    const bare = `redis://127.0.0.1:${r.port}`
    const file = join(dir, 'redis-password')
    writeFileSync(file, `${password}\nanything after the first line is ignored\n`)
    mkdirSync(join(dir, 'a-folder'))
    writeFileSync(join(dir, 'empty'), '\nsecond\n')
    const status = (...args: string[]) => lorapipeAsync(['sweep', 'status', '--queue', bare, ...args])
    // A worker given the file, and beside it the other ways in, each its own process.
    const w = start(['worker', '--queue', bare, '--queue-password-file', file], { cwd: dir })
    const [fromEnv, fromFile, missing, folder, empty, twice] = await Promise.all([
      lorapipeAsync(['sweep', 'status', '--queue', bare], { env: { LORAPIPE_QUEUE_PASSWORD: password } }),
      status('--queue-password-file', file),
      status('--queue-password-file', join(dir, 'nope')),
      status('--queue-password-file', join(dir, 'a-folder')),
      status('--queue-password-file', join(dir, 'empty')),
      lorapipeAsync(['worker', '--queue', `redis://:${password}@127.0.0.1:${r.port}`, '--queue-password-file', file]),
    ])
    for (const ok of [fromEnv, fromFile]) {
      assert.equal(ok.code, 0, ok.stderr)
      assert.match(ok.stdout, new RegExp(`^queue redis://127\\.0\\.0\\.1:${r.port}\\n`))
    }
    // A password file that cannot be used is bad input that names the file and says why.
    for (const [bad, words] of [
      [missing, /--queue-password-file .*nope does not exist/],
      [folder, /--queue-password-file .*a-folder is a folder, not a file/],
      [empty, /--queue-password-file .*empty: its first line is empty/],
      [twice, /the queue URL has a password and --queue-password-file gives one too; give it once/],
    ] as const) {
      assert.equal(bad.code, 2, bad.stderr)
      assert.match(bad.stderr, words)
      assert.ok(!bad.stderr.includes(password))
    }

    // The worker is connected (it waits for sweeps and is registered), and its command line, as
    // ps shows it, has the file's name but not the password.
    await waitFor(() => /waiting for a sweep with trials to run/.test(w.out()), 'the worker connected', [w], 60_000)
    const argv = readFileSync(`/proc/${w.child.pid}/cmdline`, 'utf8').split('\0')
    assert.ok(argv.includes('--queue-password-file') && argv.includes(file))
    assert.ok(!argv.some((x) => x.includes(password)), "the password is not in the worker's argv")
    await waitFor(async () => Object.keys(await r.client().hgetall('lorapipe:workers')).length === 1, 'the worker registered itself', [w], 30_000)
    w.child.kill('SIGINT')
    assert.equal(await w.exited, 130)
    assert.ok(!w.out().includes(password))
  })

  it('a wrong password or user, none where one is needed, or one where none is: sweep --queue, sweep status and worker end at once (exit 2), saying what Redis refused and how to give the password', async () => {
    const right = 'right-Pass-1'
    const r = await redis({ password: right })
    const open = await redis()
    const dir = tmp()
    const wrong = `redis://:WRONGPAS@127.0.0.1:${r.port}`
    const out = join(dir, 'never-written')
    const cases: { args: string[]; env?: Record<string, string>; words: RegExp }[] = [
      // The password `WRONGPAS` is part of Redis's word `WRONGPASS`: the reply is shown whole.
      { args: ['sweep', 'status', '--queue', wrong], words: /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password \(it said: WRONGPASS invalid username-password pair or user is disabled\.\)\n {2}hint: check the password \(it came from the URL\); give it with LORAPIPE_QUEUE_PASSWORD=/ },
      { args: ['worker', '--queue', wrong], words: /refused the password \(it said: WRONGPASS invalid/ },
      { args: ['sweep', bowGrid, '--queue', wrong, '--out', out], words: /refused the password \(it said: WRONGPASS invalid/ },
      { args: ['sweep', 'status', '--queue', `redis://bob:${right}@127.0.0.1:${r.port}`], words: /refused the user bob or its password \(it said: WRONGPASS/ },
      { args: ['worker', '--queue', `redis://127.0.0.1:${r.port}`], words: /requires a password and none was given \(it said: NOAUTH Authentication required\.\)\n {2}hint: give it with LORAPIPE_QUEUE_PASSWORD=/ },
      { args: ['sweep', 'status', '--queue', `redis://127.0.0.1:${open.port}`], env: { LORAPIPE_QUEUE_PASSWORD: 'some-Pass-2' }, words: /has no password set, but one was given \(from LORAPIPE_QUEUE_PASSWORD\) \(it said: ERR AUTH <password> called without any password configured/ },
    ]
    await Promise.all(
      cases.map(async (c) => {
        const p = start(c.args, { cwd: dir, ...(c.env ? { env: c.env } : {}) })
        assert.equal(await ends(p, c.args.join(' ')), 2, p.out())
        assert.match(p.out(), c.words)
        assert.ok(!p.out().includes(right) && !p.out().includes('some-Pass-2') && !p.out().includes('[redacted]PASS'), p.out())
      }),
    )
    assert.equal(existsSync(out), false, 'a refused sweep wrote nothing')
  })

  it('Redis down: says within seconds that it cannot reach host:port (exit 1); SIGTERM or Ctrl-C while it waits ends it at once (exit 130), having written nothing', async () => {
    const port = await freePort()
    const dir = tmp()
    const url = `redis://127.0.0.1:${port}`
    const status = start(['sweep', 'status', '--queue', url], { cwd: dir })
    const worker = start(['worker', '--queue', url], { cwd: dir })
    for (const p of [status, worker]) {
      assert.equal(await ends(p, 'with Redis down'), 1, p.out())
      assert.match(p.out(), new RegExp(`cannot reach the queue's Redis at 127\\.0\\.0\\.1:${port} \\(redis://127\\.0\\.0\\.1:${port}\\): connection refused \\(is redis-server running there\\?\\)\\n {2}hint: check the host and port of --queue`))
    }
    const out = join(dir, 'out')
    const sweep = start(['sweep', bowGrid, '--queue', url, '--out', out], { cwd: dir })
    const idle = start(['worker', '--queue', url], { cwd: dir })
    for (const [p, sig] of [
      [sweep, 'SIGTERM'],
      [idle, 'SIGINT'],
    ] as const) {
      await waitFor(() => p.out().includes(`waiting for the queue's Redis at 127.0.0.1:${port} (connection refused`), 'it waits for Redis', [p], 30_000)
      p.child.kill(sig)
      assert.equal(await ends(p, `after ${sig}`, 10_000), 130, p.out())
      assert.match(p.out(), new RegExp(`${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopped while connecting to the queue at redis://127\\.0\\.0\\.1:${port}; nothing was done`))
    }
    assert.equal(existsSync(out), false)
  })

  it('a coordinator whose Redis goes away mid-sweep stops at once on SIGTERM (exit 130, resumable)', async () => {
    const r = await redis()
    const dir = tmp()
    const out = join(dir, 'out')
    // No worker: the trials wait on the queue, and the coordinator waits on them.
    const c = start(['sweep', bowGrid, '--queue', r.url, '--concurrency', '2', '--out', out], { cwd: dir })
    await waitFor(() => record(out).filter((e) => e.type === 'started').length === 2, 'two trials queued', [c], 60_000)
    await waitFor(async () => (await r.client().hget('lorapipe:sweeps', queueNameOf(sweepIdOf('bow-grid', out)))) !== null, 'the sweep is registered', [c])
    await r.stop()
    await new Promise((res) => setTimeout(res, 500))
    c.child.kill('SIGTERM')
    assert.equal(await ends(c, 'SIGTERM with Redis away', 20_000), 130, c.out())
    assert.match(c.out(), /resume with: lorapipe sweep --resume .*out --queue redis:\/\/127\.0\.0\.1:\d+/)
    assert.ok(!record(out).some((e) => e.type === 'finished'), 'its trials are unfinished, so resumable')
  })

  it('rediss:// (TLS): refuses a certificate it cannot trust and says how to trust a private CA; with NODE_EXTRA_CA_CERTS a sweep runs over TLS with a password from the environment', async (t) => {
    const tls = await makeTestTls()
    if ('skip' in tls) return t.skip(tls.skip)
    const password = 'tls-Pass-3x'
    const r = await redis({ tls, password })
    const dir = tmp()
    const url = `rediss://127.0.0.1:${r.port}`
    const untrusted = await lorapipeAsync(['sweep', 'status', '--queue', url], { env: { LORAPIPE_QUEUE_PASSWORD: password } })
    assert.equal(untrusted.code, 1, untrusted.stderr)
    assert.match(untrusted.stderr, /cannot reach the queue's Redis at 127\.0\.0\.1:\d+ \(rediss:\/\/127\.0\.0\.1:\d+\): TLS failed: self-signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN\)\n {2}hint: for a server certificate signed by a private CA, give the CA to Node: NODE_EXTRA_CA_CERTS=/)

    const env = { NODE_EXTRA_CA_CERTS: tls.ca, LORAPIPE_QUEUE_PASSWORD: password }
    const base = bowProject(dir)
    const f = sweepFile(join(dir, 'project'), 'bow-tls', base, `metric: {name: eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.learning_rate: {values: [0.05]}\n`)
    const out = join(dir, 'out')
    const w = start(['worker', '--queue', url], { cwd: dir, env })
    const c = start(['sweep', f, '--set', 'stages.train.with.epochs=1', '--queue', url, '--out', out], { cwd: dir, env })
    assert.equal(await c.exited, 0, c.out() + w.out())
    assert.deepEqual(board(out).map((x) => [x.trial, x.state]), [[0, 'completed']])
    assert.match(w.out(), /trial 0000 of bow-tls: succeeded/)
    const status = await lorapipeAsync(['sweep', 'status', '--queue', url], { env })
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /^queue rediss:\/\/127\.0\.0\.1:\d+\n\nsweeps:\n {2}bow-tls {2}done/)
    w.child.kill('SIGINT')
    assert.equal(await w.exited, 130)
  })
})
