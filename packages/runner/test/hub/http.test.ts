import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import * as Redacted from 'effect/Redacted'
import { httpRequest, readBody } from '../../src/hub/http.ts'
import { startHubServer, type HubServer } from './hub-server.ts'
import { WEIGHTS, hubRepos } from './fixtures.ts'

let server: HubServer
before(async () => {
  server = await startHubServer(hubRepos())
})
after(() => server.close())

test('following redirects: the token goes to the hub, not to the CDN on another origin; relative redirects keep it', async () => {
  const token = Redacted.make(server.token)
  const n = server.log.length
  // glue -> (relative 307) nyu-mll/glue -> (absolute 302) CDN
  const res = await httpRequest({
    url: `${server.url}/datasets/glue/resolve/main/sst2/validation-00000-of-00001.parquet`,
    method: 'GET',
    token,
    follow: 'all',
    timeoutMs: 5000,
  })
  await readBody(res.body)
  assert.equal(res.status, 200)
  assert.equal(res.tokenSent, false)
  assert.ok(res.url.startsWith(server.cdnUrl))
  assert.deepEqual(
    server.log.slice(n).map((r) => [r.server, r.authorization !== undefined]),
    [
      ['hub', true],
      ['hub', true],
      ['cdn', false],
    ],
  )
})

test("HEAD with follow: 'relative' stops at the CDN redirect and exposes its headers", async () => {
  const res = await httpRequest({
    url: `${server.url}/org/tiny-model/resolve/main/model.safetensors`,
    method: 'HEAD',
    follow: 'relative',
    timeoutMs: 5000,
  })
  res.body.resume()
  assert.equal(res.status, 302)
  assert.equal(res.headers['x-linked-size'], String(WEIGHTS.length))
  assert.ok(res.headers.location!.startsWith(`${server.cdnUrl}/cdn/`))
})
