// A real redis-server for queue tests: on 127.0.0.1, a free port, its own temporary folder (its
// RDB snapshot lives there, so a restart on the same port and folder keeps the data, as Redis's
// default persistence does). Tests that need it skip with this message when it is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

const installed = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0

/** `skip` option for node:test: false when redis-server is installed, else why the test is skipped. */
export const needsRedis: string | false = installed ? false : 'skipped: redis-server is not installed (apt-get install redis-server; .ci/run installs it)'

export async function freePort(): Promise<number> {
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

/** A server certificate for 127.0.0.1 and the CA that signed it (PEM files). */
export interface TestTls {
  readonly cert: string
  readonly key: string
  readonly ca: string
}

/**
 * A private CA and a server certificate for 127.0.0.1 and localhost, made with openssl in a new
 * folder; or why they cannot be made (for `skip`): no openssl, or a redis-server built without TLS.
 */
export async function makeTestTls(): Promise<TestTls | { skip: string }> {
  if (spawnSync('openssl', ['version']).status !== 0) return { skip: 'skipped: openssl is not installed' }
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-tls-'))
  const f = (n: string) => join(dir, n)
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir })
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`)
  }
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=lorapipe test CA'])
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1'])
  require_ext: {
    // subjectAltName: Node checks the host against it.
    spawnSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > ${JSON.stringify(f('ext.cnf'))}`])
  }
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')])
  return { cert: f('server.pem'), key: f('server.key'), ca: f('ca.pem') }
}

export async function startRedis(opts: { password?: string; tls?: TestTls } = {}): Promise<TestRedis> {
  const auth = { ...(opts.password ? { password: opts.password } : {}), ...(opts.tls ? { tls: { ca: readFileSync(opts.tls.ca) } } : {}) }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-redis-'))
  let proc: ChildProcess
  const clients: Redis[] = []
  const listen = opts.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)]
  const launch = async () => {
    // No --save: Redis's default snapshot rules apply, as on an installed server.
    proc = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--logfile', join(dir, 'redis.log'), ...(opts.password ? ['--requirepass', opts.password] : [])], { stdio: 'ignore' })
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
    url: `${opts.tls ? 'rediss' : 'redis'}://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`,
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
