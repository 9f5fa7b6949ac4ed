// HTTP for the hub client on node:http/https: redirects handled by hand so that the Authorization
// header is dropped when a redirect leaves the original origin (a CDN serving LFS blobs), as
// huggingface_hub (httpx) does, and HEAD requests can stop at the first cross-origin redirect.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import https from 'node:https'
import * as Redacted from 'effect/Redacted'
import { VERSION } from '@lorapipe/core/version.ts'

export const USER_AGENT = `lorapipe/${VERSION}; hf_hub-compatible`

/** A failure to talk to the server at all: refused, DNS, reset, timeout, cut mid-body. */
export class NetworkFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
])

/** Turns a socket-level error into a NetworkFailure; leaves other errors alone. */
export function asNetworkFailure(e: unknown): NetworkFailure | undefined {
  if (e instanceof NetworkFailure) return e
  const code = (e as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return new NetworkFailure(code, (e as Error).message)
  if (e instanceof Error && /socket hang up|aborted/i.test(e.message)) return new NetworkFailure('ECONNRESET', e.message)
  return undefined
}

export interface HttpRequest {
  url: string
  method: 'GET' | 'HEAD'
  headers?: Record<string, string>
  /** Sent as 'Authorization: Bearer …' to the original origin only. */
  token?: Redacted.Redacted<string> | undefined
  /** 'relative': follow only redirects whose Location has no host (huggingface_hub's HEAD). */
  follow: 'none' | 'relative' | 'all'
  /** Socket idle timeout. */
  timeoutMs: number
  signal?: AbortSignal | undefined
}

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  /** URL of the request that produced this response (after redirects). */
  url: string
  /** Whether an Authorization header went with that last request. */
  tokenSent: boolean
  body: IncomingMessage
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 10

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80'
}

// httpx keeps the header on an http->https upgrade of the same host, and drops it otherwise.
function keepsAuth(from: URL, to: URL): boolean {
  if (from.origin === to.origin) return true
  return (
    from.hostname === to.hostname &&
    from.protocol === 'http:' &&
    to.protocol === 'https:' &&
    (from.port || defaultPort(from.protocol)) === '80' &&
    (to.port || defaultPort(to.protocol)) === '443'
  )
}

function once(req: HttpRequest, url: URL, auth: boolean): Promise<IncomingMessage> {
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    'accept-encoding': 'identity',
    ...(req.headers ?? {}),
  }
  if (auth && req.token) headers.authorization = `Bearer ${Redacted.value(req.token)}`
  const mod = url.protocol === 'https:' ? https : http
  return new Promise((resolvePromise, reject) => {
    if (req.signal?.aborted) {
      reject(new NetworkFailure('ABORTED', 'the request was aborted'))
      return
    }
    const r = mod.request(url, { method: req.method, headers }, (res) => {
      cleanup()
      resolvePromise(res)
    })
    const onAbort = () => r.destroy(new NetworkFailure('ABORTED', 'the request was aborted'))
    const cleanup = () => req.signal?.removeEventListener('abort', onAbort)
    req.signal?.addEventListener('abort', onAbort, { once: true })
    r.setTimeout(req.timeoutMs, () => r.destroy(new NetworkFailure('ETIMEDOUT', `no answer within ${req.timeoutMs} ms`)))
    r.on('error', (e) => {
      cleanup()
      reject(asNetworkFailure(e) ?? e)
    })
    r.end()
  })
}

/** One request with the redirect policy of `req.follow`. The caller consumes or destroys `body`. */
export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const origin = new URL(req.url)
  let url = origin
  let auth = true
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new NetworkFailure('EPROTO', `unsupported URL scheme in ${url.protocol}//${url.host}`)
    const res = await once(req, url, auth)
    const status = res.statusCode ?? 0
    const location = res.headers.location
    if (!REDIRECTS.has(status) || location === undefined || req.follow === 'none') {
      return { status, headers: res.headers, url: url.toString(), tokenSent: auth && req.token !== undefined, body: res }
    }
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('//')
    if (req.follow === 'relative' && !relative) {
      return { status, headers: res.headers, url: url.toString(), tokenSent: auth && req.token !== undefined, body: res }
    }
    res.resume()
    if (hop >= MAX_REDIRECTS) throw new NetworkFailure('ETOOMANYREDIRECTS', `more than ${MAX_REDIRECTS} redirects from ${req.url}`)
    const next = new URL(location, url)
    if (!keepsAuth(url, next)) auth = false
    url = next
  }
}

/** Reads a small body (JSON answers, error pages) with a size cap. */
export async function readBody(res: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of res) {
    const b = c as Buffer
    n += b.length
    if (n > limit) {
      res.destroy()
      throw new Error(`response larger than ${limit} bytes`)
    }
    chunks.push(b)
  }
  return Buffer.concat(chunks)
}

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}
