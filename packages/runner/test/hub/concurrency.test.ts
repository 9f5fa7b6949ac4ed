import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { hfHubDownloadInfo } from '../../src/hub/index.ts'
import { sha256, startHubServer, type HubServer } from './hub-server.ts'
import { WEIGHTS, cleanEnv, hubRepos, tempDir } from './fixtures.ts'

let server: HubServer
const cleanups: (() => void)[] = []
before(async () => {
  server = await startHubServer(hubRepos())
})
after(async () => {
  await server.close()
  for (const c of cleanups) c()
})

const child = fileURLToPath(new URL('./download-child.ts', import.meta.url))
const HEAD_PATH = '/org/tiny-model/resolve/main/model.safetensors'

// Holds every CDN body until `n` HEADs for the file have arrived, so the downloads overlap for
// sure: without the lock each would GET the blob; with it exactly one does.
function holdUntilHeads(n: number) {
  server.beforeBody = async () => {
    for (let i = 0; i < 400; i++) {
      if (server.log.filter((r) => r.method === 'HEAD' && r.path === HEAD_PATH).length >= n) return
      await sleep(25)
    }
  }
}

function runChild(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: { ok: boolean; path?: string; source?: string; events?: string[]; message?: string } }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, 'org/tiny-model', 'model.safetensors'], {
      env: { ...env, PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    p.stdout.on('data', (c) => (out += c))
    p.on('error', reject)
    p.on('close', (code) => {
      try {
        resolve({ code, out: JSON.parse(out.trim().split('\n').at(-1) ?? '{}') })
      } catch (e) {
        reject(new Error(`child printed ${out}: ${e}`))
      }
    })
  })
}

test('two processes fetching the same file at once: one downloads under the lock, the other waits and reuses it; the blob verifies', async () => {
  const t = tempDir()
  cleanups.push(t.cleanup)
  server.log.length = 0
  holdUntilHeads(2)
  try {
    const env = cleanEnv(t.dir, { HF_ENDPOINT: server.url })
    const [a, b] = await Promise.all([runChild(env), runChild(env)])
    assert.equal(a.code, 0, a.out.message)
    assert.equal(b.code, 0, b.out.message)
    assert.equal(a.out.path, b.out.path)
    assert.deepEqual([a.out.source, b.out.source].sort(), ['cache', 'download'])
    assert.equal(server.log.filter((r) => r.server === 'cdn' && r.method === 'GET').length, 1)
    assert.deepEqual(readFileSync(a.out.path!), WEIGHTS)
    const blobs = join(t.dir, 'hub', 'models--org--tiny-model', 'blobs')
    assert.deepEqual(readdirSync(blobs), [sha256(WEIGHTS)])
    assert.deepEqual(readdirSync(join(t.dir, 'hub', '.locks', 'models--org--tiny-model')), [])
  } finally {
    server.beforeBody = undefined
  }
})

test('two concurrent calls in one process share the lock the same way', async () => {
  const t = tempDir()
  cleanups.push(t.cleanup)
  server.log.length = 0
  holdUntilHeads(2)
  try {
    const opts = { env: cleanEnv(t.dir, { HF_ENDPOINT: server.url }), retryDelayMs: 0 }
    const [a, b] = await Promise.all([
      hfHubDownloadInfo('org/tiny-model', 'model.safetensors', opts),
      hfHubDownloadInfo('org/tiny-model', 'model.safetensors', opts),
    ])
    assert.deepEqual([a.source, b.source].sort(), ['cache', 'download'])
    assert.equal(server.log.filter((r) => r.server === 'cdn' && r.method === 'GET').length, 1)
    assert.deepEqual(readFileSync(a.path), WEIGHTS)
  } finally {
    server.beforeBody = undefined
  }
})
