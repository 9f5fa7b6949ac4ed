// A small Hugging Face hub on 127.0.0.1 for tests: resolve URLs for models and datasets, the
// revision API, LFS files answered with a redirect to a CDN on another origin (another port),
// ETag / X-Repo-Commit / X-Linked-Etag / X-Linked-Size headers like the real hub, Range
// requests, 401 for gated repos without the token, 404s with X-Error-Code, repo aliases
// (glue -> nyu-mll/glue), and injected failures (connection cut after N bytes).
import { createHash } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HubFileSpec {
  content: Buffer
  /** Served like an LFS file: sha256 ETag, redirect to the CDN. */
  lfs?: boolean
  /** Override the ETag the hub announces (X-Linked-Etag for LFS, ETag otherwise), raw header value. */
  etag?: string
  /** Override X-Repo-Commit for this file. */
  commit?: string
  /** Bytes actually served (to simulate corruption); the announced size/etag stay those of `content`. */
  servedBody?: Buffer
}

export interface HubRepoSpec {
  type: 'model' | 'dataset'
  id: string
  /** revision name -> files (path in repo -> content) */
  revisions: Record<string, Record<string, Buffer | HubFileSpec>>
  /** Requires 'Authorization: Bearer <token>'. */
  gated?: boolean
  /** Other ids that redirect to this repo (like 'glue' for 'nyu-mll/glue'). */
  aliases?: string[]
}

export interface LoggedRequest {
  server: 'hub' | 'cdn'
  method: string
  path: string
  authorization: string | undefined
  range: string | undefined
}

export interface HubServer {
  url: string
  cdnUrl: string
  log: LoggedRequest[]
  token: string
  commitOf(type: 'model' | 'dataset', id: string, revision: string): string
  /** The next GET whose path contains `pathPart` sends `afterBytes` bytes of the body, then the connection is cut. */
  failNext(pathPart: string, afterBytes: number): void
  /** Awaited before any GET body is sent (lets a test hold a download open). */
  beforeBody: ((req: IncomingMessage) => Promise<void>) | undefined
  /** Answer Range requests with the whole file (200), as some proxies do. */
  ignoreRange: boolean
  /** Answer every hub request with a 500 whose X-Error-Message and body repeat the request's Authorization header (a careless server). */
  echoAuthorization: boolean
  close(): Promise<void>
}

export const gitBlobSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex')
const sha256Memo = new WeakMap<Buffer, string>()
export const sha256 = (b: Buffer) => {
  let h = sha256Memo.get(b)
  if (h === undefined) sha256Memo.set(b, (h = createHash('sha256').update(b).digest('hex')))
  return h
}
const commitFor = (type: string, id: string, rev: string) => createHash('sha1').update(`${type}/${id}@${rev}`).digest('hex')

function spec(f: Buffer | HubFileSpec): HubFileSpec {
  return Buffer.isBuffer(f) ? { content: f } : f
}

function lfsPointer(content: Buffer): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(content)}\nsize ${content.length}\n`)
}

export async function startHubServer(repos: HubRepoSpec[], token = 'hf_test_secret_token_123'): Promise<HubServer> {
  const failures: { pathPart: string; afterBytes: number }[] = []
  const blobsBySha = new Map<string, Buffer>()
  for (const r of repos) for (const files of Object.values(r.revisions)) for (const f of Object.values(files)) {
    const s = spec(f)
    if (s.lfs) blobsBySha.set(sha256(s.content), s.servedBody ?? s.content)
  }

  const find = (type: string, id: string) => {
    for (const r of repos) {
      if (r.type !== type) continue
      if (r.id === id) return { repo: r, alias: false }
      if (r.aliases?.includes(id)) return { repo: r, alias: true }
    }
    return undefined
  }
  const revisionOf = (r: HubRepoSpec, rev: string) => {
    for (const [name, files] of Object.entries(r.revisions)) {
      const commit = commitFor(r.type, r.id, name)
      if (name === rev || commit === rev) return { commit, files }
    }
    return undefined
  }

  const server: HubServer = {
    url: '',
    cdnUrl: '',
    log: [],
    token,
    commitOf: (type, id, revision) => commitFor(type, id, revision),
    failNext: (pathPart, afterBytes) => failures.push({ pathPart, afterBytes }),
    beforeBody: undefined,
    ignoreRange: false,
    echoAuthorization: false,
    close: async () => {},
  }

  const sendBody = async (req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string>) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    let status = 200
    let slice = body
    const h: Record<string, string> = { ...headers, 'accept-ranges': 'bytes' }
    if (range && !server.ignoreRange) {
      const start = Number(range[1])
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1
      if (start >= body.length) {
        res.writeHead(416, { ...h, 'content-range': `bytes */${body.length}` })
        res.end()
        return
      }
      status = 206
      slice = body.subarray(start, end + 1)
      h['content-range'] = `bytes ${start}-${end}/${body.length}`
    }
    h['content-length'] = String(slice.length)
    if (req.method === 'HEAD') {
      res.writeHead(status, h)
      res.end()
      return
    }
    if (server.beforeBody) await server.beforeBody(req)
    const fi = failures.findIndex((f) => (req.url ?? '').includes(f.pathPart))
    res.writeHead(status, h)
    if (fi >= 0) {
      const f = failures.splice(fi, 1)[0]!
      // end() (FIN) rather than destroy() (RST): the bytes written so far reach the client, then the connection closes mid-body.
      res.write(slice.subarray(0, f.afterBytes), () => res.socket?.end())
      return
    }
    res.end(slice)
  }

  const notFound = (res: ServerResponse, code: string, message: string, extra: Record<string, string> = {}) => {
    res.writeHead(404, { 'x-error-code': code, 'x-error-message': message, 'content-type': 'text/plain', ...extra })
    res.end(message)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, which: 'hub' | 'cdn') => {
    const u = new URL(req.url ?? '/', 'http://x')
    server.log.push({ server: which, method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, range: req.headers.range })
    if (server.echoAuthorization && which === 'hub') {
      const echo = `internal error handling ${req.method} ${u.pathname} (authorization: ${req.headers.authorization ?? 'none'})`
      res.writeHead(500, { 'x-error-message': echo, 'content-type': 'text/plain' })
      res.end(`${echo}\nrequest headers: ${JSON.stringify(req.headers)}`)
      return
    }

    if (u.pathname.startsWith('/cdn/')) {
      const sha = u.pathname.slice(5)
      const body = blobsBySha.get(sha)
      if (!body) {
        res.writeHead(404)
        res.end()
        return
      }
      return sendBody(req, res, body, { etag: `"${sha}"`, 'content-type': 'application/octet-stream' })
    }

    const api = /^\/api\/(models|datasets)\/(.+)\/revision\/([^/]+)$/.exec(u.pathname)
    if (api) {
      const type = api[1] === 'models' ? 'model' : 'dataset'
      const found = find(type, decodeURIComponent(api[2]!))
      if (!found) return notFound(res, 'RepoNotFound', 'Repository not found')
      if (found.repo.gated && req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'x-error-code': 'GatedRepo', 'x-error-message': 'Access to this repo is restricted.' })
        res.end()
        return
      }
      const rev = revisionOf(found.repo, decodeURIComponent(api[3]!))
      if (!rev) return notFound(res, 'RevisionNotFound', 'Invalid rev id')
      const body = JSON.stringify({ id: found.repo.id, sha: rev.commit, siblings: Object.keys(rev.files).map((rfilename) => ({ rfilename })) })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(body)
      return
    }

    const m = /^\/(datasets\/)?(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname)
    if (!m || which !== 'hub') return notFound(res, 'RepoNotFound', 'Repository not found')
    const type = m[1] ? 'dataset' : 'model'
    const id = decodeURIComponent(m[2]!)
    const found = find(type, id)
    if (!found) return notFound(res, 'RepoNotFound', 'Repository not found')
    if (found.alias) {
      // Like the hub: a relative redirect to the canonical repo.
      res.writeHead(307, { location: `/${m[1] ?? ''}${found.repo.id}/resolve/${m[3]}/${m[4]}` })
      res.end()
      return
    }
    if (found.repo.gated && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, {
        'x-error-code': 'GatedRepo',
        'x-error-message': `Access to model ${found.repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
      })
      res.end()
      return
    }
    const rev = revisionOf(found.repo, decodeURIComponent(m[3]!))
    if (!rev) return notFound(res, 'RevisionNotFound', 'Invalid rev id')
    const file = decodeURIComponent(m[4]!)
    const f = rev.files[file]
    if (f === undefined) return notFound(res, 'EntryNotFound', `${file} does not exist on "main"`, { 'x-repo-commit': rev.commit })
    const s = spec(f)
    const commit = s.commit ?? rev.commit
    if (s.lfs) {
      const sha = sha256(s.content)
      res.writeHead(302, {
        location: `${server.cdnUrl}/cdn/${sha}?X-Amz-Signature=abc`,
        etag: `"${gitBlobSha1(lfsPointer(s.content))}"`,
        'x-linked-etag': s.etag ?? `"${sha}"`,
        'x-linked-size': String(s.content.length),
        'x-repo-commit': commit,
        'content-length': '0',
      })
      res.end()
      return
    }
    return sendBody(req, res, s.servedBody ?? s.content, { etag: s.etag ?? `"${gitBlobSha1(s.content)}"`, 'x-repo-commit': commit })
  }

  const make = (which: 'hub' | 'cdn') =>
    http.createServer((req, res) => {
      handle(req, res, which).catch((e) => {
        res.writeHead(500)
        res.end(String(e))
      })
    })
  const hub = make('hub')
  const cdn = make('cdn')
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r))
  await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r))
  server.url = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`
  server.cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`
  server.close = async () => {
    for (const s of [hub, cdn]) {
      s.closeAllConnections()
      await new Promise<void>((r) => s.close(() => r()))
    }
  }
  return server
}

/** A port with nothing listening on it (for "network down" tests). */
export async function closedPort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
