// Where the queue lives: `redis://[:password@]host[:port][/db]` or `rediss://` (TLS), turned into
// ioredis options. The password travels only inside those options: everything shown to people
// (output, events, manifests, reports) uses the redacted form.
import { Redis, type RedisOptions } from 'ioredis'

/** ioredis options that BullMQ also takes (its retryStrategy type is narrower than ioredis's). */
export type QueueRedisOptions = RedisOptions & { readonly retryStrategy: (times: number) => number }

export interface QueueConnection {
  readonly options: QueueRedisOptions
  /** The URL with any password replaced by `***`, for display. */
  readonly display: string
}

export class QueueUrlError extends Error {
  override readonly name = 'QueueUrlError'
}

/** Parses a queue URL; throws QueueUrlError with the reason and the expected form. */
export function parseQueueUrl(text: string): QueueConnection {
  let u: URL
  try {
    u = new URL(text)
  } catch {
    throw new QueueUrlError(`\`${redactUrl(text)}\` is not a URL; expected redis://[:password@]host[:port][/db] or rediss://...`)
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`the queue URL must start with redis:// or rediss://, not ${u.protocol}//`)
  if (!u.hostname) throw new QueueUrlError('the queue URL names no host; e.g. redis://127.0.0.1:6379')
  const dbText = u.pathname.replace(/^\//, '')
  const db = dbText === '' ? 0 : Number(dbText)
  if (!Number.isInteger(db) || db < 0) throw new QueueUrlError(`\`/${dbText}\` is not a Redis database number`)
  const port = u.port === '' ? 6379 : Number(u.port)
  const options: QueueRedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ needs blocking commands to wait through a Redis restart rather than fail.
    maxRetriesPerRequest: null,
    // Reconnect for as long as it takes, at most every 2 s.
    retryStrategy: (times: number) => Math.min(2000, 100 * times),
  }
  return { options, display: redactUrl(text) }
}

/** The URL with its password (and any user info) masked. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_, scheme: string, info: string) => `${scheme}${info.includes(':') ? `${info.split(':')[0]}:***` : '***'}@`)
}

export const redisClient = (c: QueueConnection): Redis => new Redis(c.options)
