// A real redis-server for queue tests: on 127.0.0.1, a free port, its own temporary folder (its
// RDB snapshot lives there, so a restart on the same port and folder keeps the data, as Redis's
// default persistence does). Tests that need it skip with this message when it is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

const installed = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0

/** `skip` option for node:test: false when redis-server is installed, else why the test is skipped. */
export const needsRedis: string | false = installed ? false : 'skipped: redis-server is not installed (apt-get install redis-server; .ci/run installs it)'

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export interface TestRedis {
  readonly port: number
  readonly dir: string
  readonly url: string
  /** A client for the test's own checks (disconnected by stop()). */
  readonly client: () => Redis
  /** SHUTDOWN SAVE (the snapshot is written), then the same server again on the same port and folder. */
  readonly restart: (downMs?: number) => Promise<void>
  readonly stop: () => Promise<void>
}

export async function startRedis(opts: { password?: string } = {}): Promise<TestRedis> {
  const auth = opts.password ? { password: opts.password } : {}
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-redis-'))
  let proc: ChildProcess
  const clients: Redis[] = []
  const launch = async () => {
    // No --save: Redis's default snapshot rules apply, as on an installed server.
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--logfile', join(dir, 'redis.log'), ...(opts.password ? ['--requirepass', opts.password] : [])], { stdio: 'ignore' })
    const t0 = Date.now()
    for (;;) {
      const probe = new Redis({ port, host: '127.0.0.1', ...auth, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      probe.on('error', () => undefined)
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        return
      } catch {
        probe.disconnect()
        if (Date.now() - t0 > 10_000) throw new Error(`redis-server did not start on port ${port} (see ${join(dir, 'redis.log')})`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
  const shutdown = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    const c = new Redis({ port, host: '127.0.0.1', ...auth, retryStrategy: () => null, maxRetriesPerRequest: 0 })
    c.on('error', () => undefined)
    await c.shutdown('SAVE').catch(() => undefined)
    c.disconnect()
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    if (proc.exitCode === null) proc.kill('SIGKILL')
  }
  await launch()
  return {
    port,
    dir,
    url: opts.password ? `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    client: () => {
      const c = new Redis({ port, host: '127.0.0.1', ...auth, maxRetriesPerRequest: null })
      c.on('error', () => undefined)
      clients.push(c)
      return c
    },
    restart: async (downMs = 500) => {
      await shutdown()
      await new Promise((r) => setTimeout(r, downMs))
      await launch()
    },
    stop: async () => {
      for (const c of clients) c.disconnect()
      await shutdown()
    },
  }
}
