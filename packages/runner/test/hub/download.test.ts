import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Effect from 'effect/Effect'
import { hfHubDownload, hfHubDownloadEffect, hfHubDownloadInfo, type DownloadProgress, type HubEvent } from '../../src/hub/index.ts'
import { closedPort, gitBlobSha1, sha256, startHubServer, type HubServer } from './hub-server.ts'
import { CONFIG, CONFIG_V1, NOTES, SST2_TRAIN, WEIGHTS, bytes, cleanEnv, hubRepos, tempDir } from './fixtures.ts'

let server: HubServer
const cleanups: (() => void)[] = []

before(async () => {
  server = await startHubServer(hubRepos())
})
after(async () => {
  await server.close()
  for (const c of cleanups) c()
})

/** A fresh HF_HOME (cache at $HF_HOME/hub) talking to the test hub. */
function home(extra: Record<string, string> = {}) {
  const t = tempDir()
  cleanups.push(t.cleanup)
  const env = cleanEnv(t.dir, { HF_ENDPOINT: server.url, ...extra })
  const cache = join(t.dir, 'hub')
  return { dir: t.dir, env, cache, opts: { env, retryDelayMs: 0 } }
}

const tag = (name: string, check?: (e: Error & Record<string, unknown>) => void) => (e: unknown) => {
  assert.equal((e as { _tag?: string })._tag, name, `expected ${name}, got ${String(e)}`)
  check?.(e as Error & Record<string, unknown>)
  return true
}

const requestsSince = (n: number) => server.log.slice(n)

describe('hfHubDownload: cache layout (byte for byte as huggingface_hub)', () => {
  test('a regular file: blob named by its git sha1, relative symlink from the snapshot, refs/main holds the commit', async () => {
    const h = home()
    const path = await hfHubDownload('org/tiny-model', 'config.json', h.opts)
    const commit = server.commitOf('model', 'org/tiny-model', 'main')
    const storage = join(h.cache, 'models--org--tiny-model')
    assert.equal(path, join(storage, 'snapshots', commit, 'config.json'))
    assert.equal(readlinkSync(path), `../../blobs/${gitBlobSha1(CONFIG)}`)
    assert.deepEqual(readFileSync(path), CONFIG)
    assert.equal(readFileSync(join(storage, 'refs', 'main'), 'utf8'), commit)
    assert.deepEqual(readdirSync(join(storage, 'blobs')), [gitBlobSha1(CONFIG)])
    // The lock lives where huggingface_hub puts it, and is released.
    assert.deepEqual(readdirSync(join(h.cache, '.locks', 'models--org--tiny-model')), [])
  })

  test('a nested file gets one more ".." per folder', async () => {
    const h = home()
    const path = await hfHubDownload('org/tiny-model', 'nested/dir/notes.txt', h.opts)
    const commit = server.commitOf('model', 'org/tiny-model', 'main')
    assert.equal(path, join(h.cache, 'models--org--tiny-model', 'snapshots', commit, 'nested', 'dir', 'notes.txt'))
    assert.equal(readlinkSync(path), `../../../../blobs/${gitBlobSha1(NOTES)}`)
    assert.deepEqual(readFileSync(path), NOTES)
  })

  test('an LFS file: HEAD stops at the CDN redirect, the blob is named by X-Linked-Etag (sha256), the GET to the CDN carries no token', async () => {
    const h = home({ HF_TOKEN: server.token })
    const n = server.log.length
    const path = await hfHubDownload('org/tiny-model', 'model.safetensors', h.opts)
    assert.equal(readlinkSync(path), `../../blobs/${sha256(WEIGHTS)}`)
    assert.deepEqual(readFileSync(path), WEIGHTS)
    const reqs = requestsSince(n)
    const head = reqs.filter((r) => r.method === 'HEAD')
    assert.equal(head.length, 1)
    assert.equal(head[0]!.server, 'hub')
    assert.equal(head[0]!.authorization, `Bearer ${server.token}`)
    const gets = reqs.filter((r) => r.method === 'GET')
    assert.deepEqual(
      gets.map((r) => [r.server, r.authorization]),
      [['cdn', undefined]],
    )
  })

  test('a solo repo id (no org) maps to models--name', async () => {
    const h = home()
    const path = await hfHubDownload('solo-model', 'config.json', h.opts)
    assert.ok(path.startsWith(join(h.cache, 'models--solo-model', 'snapshots')))
  })

  test('a tag gets refs/<tag>; a revision with slashes is URL-encoded and stored as refs/refs/convert/parquet (dataset alias kept as folder name)', async () => {
    const h = home()
    const v1 = await hfHubDownload('org/tiny-model', 'config.json', { ...h.opts, revision: 'v1.0' })
    assert.deepEqual(readFileSync(v1), CONFIG_V1)
    assert.equal(readFileSync(join(h.cache, 'models--org--tiny-model', 'refs', 'v1.0'), 'utf8'), server.commitOf('model', 'org/tiny-model', 'v1.0'))

    const n = server.log.length
    const p = await hfHubDownload('glue', 'sst2/train/0000.parquet', { ...h.opts, repoType: 'dataset', revision: 'refs/convert/parquet' })
    assert.ok(requestsSince(n).some((r) => r.method === 'HEAD' && r.path === '/datasets/glue/resolve/refs%2Fconvert%2Fparquet/sst2/train/0000.parquet'))
    const commit = server.commitOf('dataset', 'nyu-mll/glue', 'refs/convert/parquet')
    assert.equal(p, join(h.cache, 'datasets--glue', 'snapshots', commit, 'sst2', 'train', '0000.parquet'))
    assert.equal(readFileSync(join(h.cache, 'datasets--glue', 'refs', 'refs', 'convert', 'parquet'), 'utf8'), commit)
    assert.deepEqual(readFileSync(p), SST2_TRAIN)
  })

  test('a commit-hash revision writes no ref, and once cached is served without any request', async () => {
    const h = home()
    const commit = server.commitOf('model', 'org/tiny-model', 'main')
    const first = await hfHubDownload('org/tiny-model', 'config.json', { ...h.opts, revision: commit })
    assert.equal(existsSync(join(h.cache, 'models--org--tiny-model', 'refs')), false)
    const n = server.log.length
    const again = await hfHubDownloadInfo('org/tiny-model', 'config.json', { ...h.opts, revision: commit })
    assert.equal(again.path, first)
    assert.equal(again.source, 'cache')
    assert.equal(server.log.length, n)
  })

  test('a second download of a cached file costs one HEAD and no GET', async () => {
    const h = home()
    await hfHubDownload('org/tiny-model', 'model.safetensors', h.opts)
    const n = server.log.length
    const info = await hfHubDownloadInfo('org/tiny-model', 'model.safetensors', h.opts)
    assert.equal(info.source, 'cache')
    assert.equal(info.size, WEIGHTS.length)
    assert.deepEqual(
      requestsSince(n).map((r) => r.method),
      ['HEAD'],
    )
  })

  test('files cached by Python (same layout, made by hand here) are reused without downloading', async () => {
    const h = home()
    const commit = server.commitOf('model', 'org/tiny-model', 'main')
    const storage = join(h.cache, 'models--org--tiny-model')
    mkdirSync(join(storage, 'blobs'), { recursive: true })
    mkdirSync(join(storage, 'snapshots', commit), { recursive: true })
    mkdirSync(join(storage, 'refs'), { recursive: true })
    writeFileSync(join(storage, 'blobs', sha256(WEIGHTS)), WEIGHTS)
    symlinkSync(`../../blobs/${sha256(WEIGHTS)}`, join(storage, 'snapshots', commit, 'model.safetensors'))
    writeFileSync(join(storage, 'refs', 'main'), commit)
    const n = server.log.length
    const online = await hfHubDownloadInfo('org/tiny-model', 'model.safetensors', h.opts)
    assert.equal(online.source, 'cache')
    assert.ok(!requestsSince(n).some((r) => r.method === 'GET'))
    const offline = await hfHubDownloadInfo('org/tiny-model', 'model.safetensors', { ...h.opts, env: { ...h.env, HF_HUB_OFFLINE: '1' } })
    assert.equal(offline.path, join(storage, 'snapshots', commit, 'model.safetensors'))
  })
})

describe('hfHubDownload: errors name the repo, file and revision and say what to do', () => {
  test('404s are told apart by X-Error-Code (repository, revision, file)', async () => {
    const h = home()
    await assert.rejects(
      hfHubDownload('org/nope', 'config.json', h.opts),
      tag('RepoNotFoundError', (e) => {
        assert.match(e.message, /org\/nope/)
        assert.match(e.message, /repo id/)
      }),
    )
    await assert.rejects(
      hfHubDownload('org/tiny-model', 'config.json', { ...h.opts, revision: 'no-such-branch' }),
      tag('RevisionNotFoundError', (e) => assert.match(e.message, /no-such-branch/)),
    )
    await assert.rejects(
      hfHubDownload('org/tiny-model', 'missing.json', h.opts),
      tag('EntryNotFoundError', (e) => {
        assert.match(e.message, /missing\.json/)
        assert.match(e.message, /org\/tiny-model/)
        assert.match(e.message, /'main'/)
      }),
    )
    // Like huggingface_hub, the 404 is remembered as .no_exist/<commit>/<file>.
    const commit = server.commitOf('model', 'org/tiny-model', 'main')
    assert.ok(existsSync(join(h.cache, 'models--org--tiny-model', '.no_exist', commit, 'missing.json')))
  })

  test('the Effect version puts hub errors in the error channel, catchable by tag', async () => {
    const h = home()
    const program = hfHubDownloadEffect('org/tiny-model', 'missing.json', h.opts).pipe(
      Effect.catchTag('EntryNotFoundError', (e) => Effect.succeed(`missing: ${e.file}`)),
    )
    assert.equal(await Effect.runPromise(program), 'missing: missing.json')
    const ok = await Effect.runPromise(hfHubDownloadEffect('org/tiny-model', 'config.json', h.opts))
    assert.deepEqual(readFileSync(ok), CONFIG)
  })

  test('a gated repo without a token is a HubAccessError that says to set HF_TOKEN and accept the terms', async () => {
    const h = home()
    await assert.rejects(
      hfHubDownload('org/gated', 'config.json', h.opts),
      tag('HubAccessError', (e) => {
        assert.equal(e.status, 401)
        assert.match(e.message, /HF_TOKEN/)
        assert.match(e.message, /accept the terms/)
        assert.match(e.message, /org\/gated/)
      }),
    )
  })

  test('a wrong token is never shown: not in the message, the error object, or its JSON', async () => {
    const h = home({ HF_TOKEN: 'hf_wrong_very_secret_value' })
    const err = await hfHubDownload('org/gated', 'config.json', h.opts).then(
      () => assert.fail('should have failed'),
      (e: unknown) => e as Error,
    )
    assert.equal((err as unknown as { _tag: string })._tag, 'HubAccessError')
    assert.equal((err as unknown as { tokenSent: boolean }).tokenSent, true)
    for (const text of [err.message, String(err), JSON.stringify(err), err.stack ?? '']) assert.ok(!text.includes('hf_wrong_very_secret_value'))
  })

  test('the token file $HF_HOME/token is used as a Bearer token (sent to the hub, not to the CDN)', async () => {
    const h = home()
    writeFileSync(join(h.dir, 'token'), `${server.token}\n`)
    const n = server.log.length
    const path = await hfHubDownload('org/gated', 'model.safetensors', h.opts)
    assert.deepEqual(readFileSync(path), WEIGHTS)
    const reqs = requestsSince(n)
    assert.equal(reqs.find((r) => r.method === 'HEAD')!.authorization, `Bearer ${server.token}`)
    assert.equal(reqs.find((r) => r.server === 'cdn')!.authorization, undefined)
  })

  test('HF_HUB_OFFLINE=1 uses only the cache: no request at all, and a missing file says it is not cached and offline mode is on', async () => {
    const h = home()
    const online = await hfHubDownload('org/tiny-model', 'config.json', h.opts)
    const offlineOpts = { ...h.opts, env: { ...h.env, HF_HUB_OFFLINE: '1' } }
    const n = server.log.length
    assert.equal(await hfHubDownload('org/tiny-model', 'config.json', offlineOpts), online)
    await assert.rejects(
      hfHubDownload('org/tiny-model', 'model.safetensors', offlineOpts),
      tag('NotInCacheError', (e) => {
        assert.match(e.message, /not in the cache/)
        assert.match(e.message, /offline mode is on/)
        assert.match(e.message, /HF_HUB_OFFLINE/)
        assert.match(e.message, /model\.safetensors/)
      }),
    )
    assert.equal(server.log.length, n)
  })

  test('when the hub is unreachable a cached file is used with a warning event; an uncached file is a HubNetworkError', async () => {
    const h = home()
    const online = await hfHubDownload('org/tiny-model', 'config.json', h.opts)
    const down = { ...h.opts, endpoint: `http://127.0.0.1:${await closedPort()}` }
    const events: HubEvent[] = []
    const info = await hfHubDownloadInfo('org/tiny-model', 'config.json', { ...down, onEvent: (e) => events.push(e) })
    assert.equal(info.path, online)
    assert.equal(info.source, 'cache-fallback')
    assert.equal(events.length, 1)
    assert.equal(events[0]!.type, 'warning')
    assert.match((events[0] as { message: string }).message, /cached copy/)
    await assert.rejects(
      hfHubDownload('org/tiny-model', 'model.safetensors', down),
      tag('HubNetworkError', (e) => {
        assert.equal(e.code, 'ECONNREFUSED')
        assert.match(e.message, /not in the cache/)
        assert.match(e.message, /HF_HUB_OFFLINE=1/)
      }),
    )
  })
})

describe('hfHubDownload: safety of names from the pipeline and from the server', () => {
  test('repo ids, file names and revisions that could leave the cache are refused before any request', async () => {
    const h = home()
    const n = server.log.length
    const bad: [string, string, string | undefined][] = [
      ['../evil', 'config.json', undefined],
      ['org/../../evil', 'config.json', undefined],
      ['a/b/c', 'config.json', undefined],
      ['/abs', 'config.json', undefined],
      ['org--x/name', 'config.json', undefined],
      ['org/name.git', 'config.json', undefined],
      ['org/tiny-model', '../../../etc/passwd', undefined],
      ['org/tiny-model', '/etc/passwd', undefined],
      ['org/tiny-model', 'a\\..\\b', undefined],
      ['org/tiny-model', 'a/./b', undefined],
      ['org/tiny-model', 'a//b', undefined],
      ['org/tiny-model', '', undefined],
      ['org/tiny-model', 'config.json', '../../outside'],
      ['org/tiny-model', 'config.json', 'refs\\heads'],
    ]
    for (const [repo, file, revision] of bad) {
      await assert.rejects(hfHubDownload(repo, file, { ...h.opts, revision }), tag('InvalidHubNameError'), `${repo} ${file} ${revision}`)
    }
    assert.equal(server.log.length, n)
  })

  test('an ETag or commit from the server that is not a safe file name is rejected and nothing is written outside the cache', async () => {
    const h = home()
    await assert.rejects(hfHubDownload('org/evil', 'etag.bin', h.opts), tag('InvalidHubNameError', (e) => assert.equal(e.kind, 'etag')))
    await assert.rejects(hfHubDownload('org/evil', 'commit.bin', h.opts), tag('InvalidHubNameError', (e) => assert.equal(e.kind, 'commit hash')))
    await assert.rejects(hfHubDownload('org/evil', 'lfs.bin', h.opts), tag('InvalidHubNameError', (e) => assert.equal(e.kind, 'etag')))
    assert.deepEqual(readdirSync(h.dir).sort(), ['hub'].filter((d) => existsSync(join(h.dir, d))))
    assert.equal(existsSync(join(h.cache, 'escaped')), false)
    assert.equal(existsSync('/tmp/escaped'), false)
  })
})

describe('hfHubDownload: resumable, verified downloads', () => {
  test('an interrupted download keeps only blobs/<etag>.incomplete; the next call resumes with a Range request and the file verifies', async () => {
    const h = home()
    const sha = sha256(WEIGHTS)
    server.failNext(`/cdn/${sha}`, 100_000)
    await assert.rejects(
      hfHubDownload('org/tiny-model', 'model.safetensors', { ...h.opts, retries: 0 }),
      tag('HubNetworkError', (e) => assert.match(e.message, /resume/)),
    )
    const storage = join(h.cache, 'models--org--tiny-model')
    assert.deepEqual(readdirSync(join(storage, 'blobs')), [`${sha}.incomplete`])
    // What the client kept is a true prefix of the file: chunks still in the socket's buffer when
    // the connection broke may be lost, so it can be shorter than what the server sent.
    const kept = readFileSync(join(storage, 'blobs', `${sha}.incomplete`))
    assert.ok(kept.length > 0 && kept.length <= 100_000, `kept ${kept.length} bytes`)
    assert.deepEqual(kept, WEIGHTS.subarray(0, kept.length))
    assert.deepEqual(readdirSync(join(storage, 'snapshots', server.commitOf('model', 'org/tiny-model', 'main'))), [])

    const n = server.log.length
    const events: HubEvent[] = []
    const path = await hfHubDownload('org/tiny-model', 'model.safetensors', { ...h.opts, onEvent: (e) => events.push(e) })
    const gets = requestsSince(n).filter((r) => r.method === 'GET')
    assert.deepEqual(
      gets.map((r) => r.range),
      [`bytes=${kept.length}-`],
    )
    assert.ok(events.some((e) => e.type === 'resume' && e.from === kept.length))
    assert.deepEqual(readFileSync(path), WEIGHTS)
    assert.deepEqual(readdirSync(join(storage, 'blobs')), [sha])
  })

  test('a connection dropped mid-file is resumed within the same call', async () => {
    const h = home()
    server.failNext(`/cdn/${sha256(WEIGHTS)}`, 120_000)
    const n = server.log.length
    const path = await hfHubDownload('org/tiny-model', 'model.safetensors', h.opts)
    const ranges = requestsSince(n)
      .filter((r) => r.method === 'GET')
      .map((r) => r.range)
    assert.equal(ranges.length, 2)
    assert.equal(ranges[0], undefined)
    const from = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1])
    assert.ok(from > 0 && from <= 120_000, `resumed from ${ranges[1]}`)
    assert.deepEqual(readFileSync(path), WEIGHTS)
  })

  test('when the server ignores Range (answers 200), the partial file is discarded and the whole file written', async () => {
    const h = home()
    const sha = sha256(WEIGHTS)
    const blobs = join(h.cache, 'models--org--tiny-model', 'blobs')
    mkdirSync(blobs, { recursive: true })
    writeFileSync(join(blobs, `${sha}.incomplete`), bytes(5000, 99)) // wrong bytes: must not survive
    server.ignoreRange = true
    try {
      const path = await hfHubDownload('org/tiny-model', 'model.safetensors', h.opts)
      assert.deepEqual(readFileSync(path), WEIGHTS)
    } finally {
      server.ignoreRange = false
    }
  })

  test('a cached blob of the wrong size is downloaded again rather than trusted', async () => {
    const h = home()
    const path = await hfHubDownload('org/tiny-model', 'config.json', h.opts)
    writeFileSync(join(h.cache, 'models--org--tiny-model', 'blobs', gitBlobSha1(CONFIG)), 'truncated')
    const n = server.log.length
    const events: HubEvent[] = []
    const info = await hfHubDownloadInfo('org/tiny-model', 'config.json', { ...h.opts, onEvent: (e) => events.push(e) })
    assert.equal(info.source, 'download')
    assert.equal(requestsSince(n).filter((r) => r.method === 'GET').length, 1)
    assert.deepEqual(readFileSync(path), CONFIG)
    assert.ok(events.some((e) => e.type === 'warning' && /downloading it again/.test(e.message)))
  })

  test('bytes that do not match the LFS sha256 raise ChecksumMismatchError and leave no blob, partial file or pointer', async () => {
    const h = home()
    await assert.rejects(
      hfHubDownload('org/corrupt', 'weights.bin', h.opts),
      tag('ChecksumMismatchError', (e) => {
        assert.equal(e.check, 'sha256')
        assert.match(e.message, /weights\.bin/)
      }),
    )
    const storage = join(h.cache, 'models--org--corrupt')
    assert.deepEqual(readdirSync(join(storage, 'blobs')), [])
    assert.deepEqual(readdirSync(join(storage, 'snapshots', server.commitOf('model', 'org/corrupt', 'main'))), [])
  })

  test('forceDownload fetches again even when cached', async () => {
    const h = home()
    await hfHubDownload('org/tiny-model', 'config.json', h.opts)
    const n = server.log.length
    const info = await hfHubDownloadInfo('org/tiny-model', 'config.json', { ...h.opts, forceDownload: true })
    assert.equal(info.source, 'download')
    assert.equal(requestsSince(n).filter((r) => r.method === 'GET').length, 1)
  })

  test('progress reports name the repo and file, never go backwards and end at the total', async () => {
    const h = home()
    const seen: DownloadProgress[] = []
    await hfHubDownload('org/tiny-model', 'model.safetensors', { ...h.opts, onProgress: (p) => seen.push(p) })
    assert.ok(seen.length >= 2)
    for (const p of seen) {
      assert.equal(p.repo, 'org/tiny-model')
      assert.equal(p.file, 'model.safetensors')
      assert.equal(p.total, WEIGHTS.length)
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.bytes >= seen[i - 1]!.bytes)
    const last = seen.at(-1)!
    assert.equal(last.bytes, WEIGHTS.length)
    assert.equal(last.done, true)
    assert.equal(seen.filter((p) => p.done).length, 1)
  })

  test('ENOSPC while writing is a DiskFullError that says to free space or set HF_HUB_CACHE', { skip: !existsSync('/dev/full') && 'needs /dev/full' }, async () => {
    const h = home()
    const blobs = join(h.cache, 'models--org--tiny-model', 'blobs')
    mkdirSync(blobs, { recursive: true })
    // Writes to /dev/full fail with ENOSPC: a real full disk, as far as the writer can tell.
    symlinkSync('/dev/full', join(blobs, `${sha256(WEIGHTS)}.incomplete`))
    await assert.rejects(
      hfHubDownload('org/tiny-model', 'model.safetensors', h.opts),
      tag('DiskFullError', (e) => {
        assert.match(e.message, /HF_HUB_CACHE/)
        assert.match(e.message, /model\.safetensors/)
      }),
    )
    assert.equal(existsSync(join(blobs, sha256(WEIGHTS))), false)
  })
})
