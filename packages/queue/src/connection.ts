// Where the queue lives: `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS), turned into
// ioredis options. The password need not be on the command line (where `ps` shows it): it may come
// from a file (--queue-password-file) or from LORAPIPE_QUEUE_PASSWORD. It travels only inside
// the options and is registered with core's redact, so nothing printed or written shows it;
// everything shown to people uses the redacted URL.
//
// Before a command starts its work it reaches Redis once (checkQueue): a refused password or user,
// an unreachable host or an untrusted TLS certificate is said within seconds, naming the redacted
// URL and the fix; SIGINT and SIGTERM end that wait at once. Only after that first answer do the
// long-lived clients wait through Redis restarts.
import * as Data from 'effect/Data'
import { Redis, type RedisOptions } from 'ioredis'
import { addSecret } from '@lorapipe/core/text/redact.ts'
import { FILE_KINDS, readUserFile, UserFileError } from '@lorapipe/core/fs/user-file.ts'

/** ioredis options that BullMQ also takes (its retryStrategy type is narrower than ioredis's). */
export type QueueRedisOptions = RedisOptions & { readonly retryStrategy: (times: number) => number }

export interface QueueConnection {
  readonly options: QueueRedisOptions
  /** The URL with any password replaced by `***`, for display. */
  readonly display: string
  /** `host:port`, for messages. */
  readonly address: string
  /** Where the password came from, for messages; undefined when none was given. */
  readonly passwordFrom?: 'the URL' | '--queue-password-file' | 'LORAPIPE_QUEUE_PASSWORD'
}

/** The queue URL or the password given with it is unusable (exit 2). */
export class QueueUrlError extends Data.TaggedError('QueueUrlError')<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

export const PASSWORD_ENV = 'LORAPIPE_QUEUE_PASSWORD'

/** How to give the password, for hints. */
export const PASSWORD_HELP = `${PASSWORD_ENV}=... in the environment, or --queue-password-file FILE (its first line), or in the URL (redis://:PASSWORD@host:6379)`

export interface PasswordSources {
  /** --queue-password-file */
  readonly file?: string
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** The first line of a password file (a regular file of at most 64 KiB). */
export function readPasswordFile(file: string): string {
  let bytes: Buffer
  try {
    bytes = readUserFile(file, FILE_KINDS.secret)
  } catch (e) {
    if (e instanceof UserFileError) throw new QueueUrlError({ reason: `--queue-password-file ${e.message}; name the file whose first line is the password` })
    throw e
  }
  const first = bytes.toString('utf8').split(/\r?\n/)[0]!
  if (first === '') throw new QueueUrlError({ reason: `--queue-password-file ${file}: its first line is empty; put the password there` })
  return first
}

/**
 * Parses a queue URL, with the password from the URL, else from `sources.file`, else from
 * LORAPIPE_QUEUE_PASSWORD; throws QueueUrlError with the reason and the expected form.
 */
export function parseQueueUrl(text: string, sources: PasswordSources = {}): QueueConnection {
  let u: URL
  try {
    u = new URL(text)
  } catch {
    throw new QueueUrlError({ reason: `\`${redactUrl(text)}\` is not a URL; expected redis://[:password@]host[:port][/db] or rediss://...` })
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError({ reason: `the queue URL must start with redis:// or rediss://, not ${u.protocol}//` })
  if (!u.hostname) throw new QueueUrlError({ reason: 'the queue URL names no host; e.g. redis://127.0.0.1:6379' })
  const dbText = u.pathname.replace(/^\//, '')
  const db = dbText === '' ? 0 : Number(dbText)
  if (!Number.isInteger(db) || db < 0) throw new QueueUrlError({ reason: `\`/${dbText}\` is not a Redis database number` })
  const port = u.port === '' ? 6379 : Number(u.port)
  const inUrl = u.password ? decodeURIComponent(u.password) : undefined
  if (inUrl !== undefined && sources.file !== undefined) throw new QueueUrlError({ reason: 'the queue URL has a password and --queue-password-file gives one too; give it once' })
  const env = (sources.env ?? process.env)[PASSWORD_ENV]
  const [password, passwordFrom] =
    inUrl !== undefined ? [inUrl, 'the URL' as const] : sources.file !== undefined ? [readPasswordFile(sources.file), '--queue-password-file' as const] : env ? [env, PASSWORD_ENV as typeof PASSWORD_ENV] : [undefined, undefined]
  // From now on it is cut from everything lorapipe prints or writes.
  addSecret(password)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  const options: QueueRedisOptions = {
    host,
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(password !== undefined ? { password } : {}),
    // TLS with Node's trusted CAs (and NODE_EXTRA_CA_CERTS, for a private CA); the certificate must name the host.
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ needs blocking commands to wait through a Redis restart rather than fail.
    maxRetriesPerRequest: null,
    // Reconnect for as long as it takes, at most every 2 s.
    retryStrategy: (times: number) => Math.min(2000, 100 * times),
  }
  return { options, display: redactUrl(text), address: `${u.hostname}:${port}`, ...(passwordFrom ? { passwordFrom } : {}) }
}

/** The URL with its password (and any user info) masked. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_, scheme: string, info: string) => `${scheme}${info.includes(':') ? `${info.split(':')[0]}:***` : '***'}@`)
}

export const redisClient = (c: QueueConnection): Redis => new Redis(c.options)

/** Redis refused the credentials given (or wants some and got none): exit 2. */
export class QueueAuthRefused extends Data.TaggedError('QueueAuthRefused')<{ readonly display: string; readonly what: string; readonly reply: string; readonly hint: string }> {
  override get message(): string {
    return `Redis at ${this.display} ${this.what} (it said: ${this.reply})`
  }
}

/** Redis could not be reached (or its TLS certificate is not trusted): exit 1. */
export class QueueUnreachable extends Data.TaggedError('QueueUnreachable')<{ readonly display: string; readonly address: string; readonly reason: string; readonly hint: string }> {
  override get message(): string {
    return `cannot reach the queue's Redis at ${this.address} (${this.display}): ${this.reason}`
  }
}

/** The wait was ended by SIGINT or SIGTERM. */
export class QueueWaitInterrupted extends Data.TaggedError('QueueWaitInterrupted')<{ readonly signal: string }> {}

export type QueueCheckError = QueueAuthRefused | QueueUnreachable | QueueUrlError | QueueWaitInterrupted

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|EPROTO/

/** What an error while connecting means: a refusal, a TLS problem (both final), or a host not reachable (yet). */
function classify(c: QueueConnection, e: Error & { code?: string }): { final: boolean; error: QueueCheckError } {
  const msg = e.message ?? String(e)
  const reply = msg.split('\n')[0]!.slice(0, 300)
  const auth = (what: string, hint: string) => ({ final: true, error: new QueueAuthRefused({ display: c.display, what, reply, hint }) })
  const user = c.options.username ? `user ${c.options.username} or its password` : 'password'
  if (/^WRONGPASS/.test(msg) || /invalid (username-)?password/i.test(msg))
    return auth(`refused the ${user}`, `check the password (${c.passwordFrom ? `it came from ${c.passwordFrom}` : 'none was given'}); give it with ${PASSWORD_HELP}`)
  if (/^NOAUTH/.test(msg)) return auth('requires a password and none was given', `give it with ${PASSWORD_HELP}`)
  if (/called without any password configured/i.test(msg))
    return auth(`has no password set, but one was given (from ${c.passwordFrom ?? 'the URL'})`, `is this the right Redis? If it is, drop the password${c.passwordFrom === PASSWORD_ENV ? ` (unset ${PASSWORD_ENV})` : ''}`)
  if (/DB index is out of range/i.test(msg)) return { final: true, error: new QueueUrlError({ reason: `Redis at ${c.display} has no database ${c.options.db}: ${reply}` }) }
  const code = e.code ?? ''
  if (TLS_CODES.test(code) || /certificate|tls|ssl/i.test(msg)) {
    return {
      final: true,
      error: new QueueUnreachable({
        display: c.display,
        address: c.address,
        reason: `TLS failed: ${reply}${code ? ` (${code})` : ''}`,
        hint: c.options.tls ? 'for a server certificate signed by a private CA, give the CA to Node: NODE_EXTRA_CA_CERTS=/path/to/ca.pem; the certificate must name the host of the URL' : 'does the server take TLS only? Then use rediss://',
      }),
    }
  }
  const why = code === 'ECONNREFUSED' ? 'connection refused (is redis-server running there?)' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `no such host ${c.options.host}` : code === 'ETIMEDOUT' ? 'no answer' : reply
  const hint = `check the host and port of --queue, and that redis-server runs there${c.options.tls ? ' and takes TLS on that port' : code === 'ECONNRESET' ? '; if it takes TLS only, use rediss://' : ''}`
  return { final: false, error: new QueueUnreachable({ display: c.display, address: c.address, reason: why, hint }) }
}

/**
 * Reaches Redis once with the connection's credentials: connect, AUTH, PING, SELECT. Resolves when
 * Redis answered; rejects with QueueAuthRefused or a TLS failure at once, with QueueUnreachable when
 * no connection was made within `timeoutMs`, and with QueueWaitInterrupted when `signal` aborts.
 */
export async function checkQueue(c: QueueConnection, opts: { readonly timeoutMs?: number; readonly signal?: AbortSignal; readonly onWait?: (why: QueueUnreachable) => void } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 4000)
  let last: QueueCheckError | undefined
  for (;;) {
    if (opts.signal?.aborted) throw new QueueWaitInterrupted({ signal: String(opts.signal.reason ?? 'signal') })
    const remaining = deadline - Date.now()
    if (remaining <= 0) break
    // AUTH and SELECT are sent by hand, so that their replies are seen as they are.
    const { username, password, db } = c.options
    const probe = new Redis({ host: c.options.host, port: c.options.port, ...(c.options.tls ? { tls: c.options.tls } : {}), lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableReadyCheck: false, enableOfflineQueue: false, connectTimeout: Math.max(200, remaining) })
    let lastEvent: Error | undefined
    probe.on('error', (e: Error) => (lastEvent = e))
    const abort = () => probe.disconnect()
    opts.signal?.addEventListener('abort', abort)
    try {
      await probe.connect()
      if (password !== undefined) await probe.call('AUTH', ...(username ? [username, password] : [password]))
      await probe.ping()
      if (db) await probe.select(db)
      return
    } catch (e) {
      if (opts.signal?.aborted) throw new QueueWaitInterrupted({ signal: String(opts.signal.reason ?? 'signal') })
      const err = (lastEvent && /Connection is closed|Stream isn't writeable/.test((e as Error).message) ? lastEvent : e) as Error & { code?: string }
      const r = classify(c, err)
      if (r.final) throw r.error
      if (last === undefined && r.error instanceof QueueUnreachable) opts.onWait?.(r.error)
      last = r.error
    } finally {
      opts.signal?.removeEventListener('abort', abort)
      probe.disconnect()
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t)
        opts.signal?.removeEventListener('abort', done)
        resolve()
      }
      const t = setTimeout(done, Math.min(500, Math.max(0, deadline - Date.now())))
      opts.signal?.addEventListener('abort', done, { once: true })
    })
  }
  throw last ?? new QueueUnreachable({ display: c.display, address: c.address, reason: 'no answer', hint: 'check the host and port of --queue, and that redis-server runs there' })
}

/** The environment of a trial a worker runs, and of its pipeline: the queue's password stays with the worker (a trial needs no Redis). */
export const trialEnv = (): Record<string, string | undefined> => ({ ...process.env, [PASSWORD_ENV]: undefined })
