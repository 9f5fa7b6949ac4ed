import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import {
  datasetSplitFiles,
  downloadDatasetSplit,
  listRepoFiles,
  matchesPattern,
  pickSplitFiles,
  snapshotDownload,
  type HubEvent,
} from '../../src/hub/index.ts'
import { closedPort, sha256, startHubServer, type HubServer } from './hub-server.ts'
import { CONFIG, SST2_VALIDATION, WEIGHTS, cleanEnv, hubRepos, tempDir } from './fixtures.ts'

let server: HubServer
const cleanups: (() => void)[] = []
before(async () => {
  server = await startHubServer(hubRepos())
})
after(async () => {
  await server.close()
  for (const c of cleanups) c()
})

function home() {
  const t = tempDir()
  cleanups.push(t.cleanup)
  const env = cleanEnv(t.dir, { HF_ENDPOINT: server.url })
  return { dir: t.dir, env, cache: join(t.dir, 'hub'), opts: { env, retryDelayMs: 0 } }
}

const GLUE_SST2 = ['sst2/test-00000-of-00001.parquet', 'sst2/train-00000-of-00001.parquet', 'sst2/validation-00000-of-00001.parquet']

describe('listRepoFiles', () => {
  test('lists siblings and the commit from /api/{type}s/{id}/revision/{rev}; the alias glue reports its canonical id', async () => {
    const h = home()
    const n = server.log.length
    const l = await listRepoFiles('glue', { ...h.opts, repoType: 'dataset' })
    assert.equal(server.log[n]!.path, '/api/datasets/glue/revision/main')
    assert.equal(l.repoId, 'nyu-mll/glue')
    assert.equal(l.requestedId, 'glue')
    assert.equal(l.commitHash, server.commitOf('dataset', 'nyu-mll/glue', 'main'))
    assert.equal(l.source, 'hub')
    assert.deepEqual(
      l.files.filter((f) => f.startsWith('sst2/')),
      GLUE_SST2,
    )
  })

  test('encodes a revision with slashes in the API path', async () => {
    const h = home()
    const n = server.log.length
    const l = await listRepoFiles('nyu-mll/glue', { ...h.opts, repoType: 'dataset', revision: 'refs/convert/parquet' })
    assert.equal(server.log[n]!.path, '/api/datasets/nyu-mll/glue/revision/refs%2Fconvert%2Fparquet')
    assert.deepEqual(l.files, ['sst2/train/0000.parquet'])
  })

  test('a gated repo needs the token; an unknown repo is RepoNotFoundError', async () => {
    const h = home()
    await assert.rejects(listRepoFiles('org/gated', h.opts), (e: unknown) => (e as { _tag: string })._tag === 'HubAccessError')
    const ok = await listRepoFiles('org/gated', { ...h.opts, token: server.token })
    assert.deepEqual(ok.files, ['config.json', 'model.safetensors'])
    await assert.rejects(listRepoFiles('org/none', h.opts), (e: unknown) => (e as { _tag: string })._tag === 'RepoNotFoundError')
  })
})

describe('snapshotDownload', () => {
  test('downloads every file of the revision by commit hash and records refs/main; offline it returns the cached snapshot', async () => {
    const h = home()
    const snap = await snapshotDownload('org/tiny-model', h.opts)
    const commit = server.commitOf('model', 'org/tiny-model', 'main')
    assert.equal(snap.path, join(h.cache, 'models--org--tiny-model', 'snapshots', commit))
    assert.deepEqual(snap.files.map((f) => f.file).sort(), ['config.json', 'model.safetensors', 'nested/dir/notes.txt'])
    assert.deepEqual(readFileSync(join(snap.path, 'model.safetensors')), WEIGHTS)
    assert.equal(readlinkSync(join(snap.path, 'model.safetensors')), `../../blobs/${sha256(WEIGHTS)}`)
    assert.equal(readFileSync(join(h.cache, 'models--org--tiny-model', 'refs', 'main'), 'utf8'), commit)

    const n = server.log.length
    const offline = await snapshotDownload('org/tiny-model', { ...h.opts, env: { ...h.env, HF_HUB_OFFLINE: '1' } })
    assert.equal(offline.path, snap.path)
    assert.equal(offline.source, 'cache')
    assert.equal(offline.files.length, 3)
    assert.equal(server.log.length, n)
  })

  test('allowPatterns selects files (fnmatch: * also crosses folders)', async () => {
    const h = home()
    const snap = await snapshotDownload('org/tiny-model', { ...h.opts, allowPatterns: ['*.json'] })
    assert.deepEqual(
      snap.files.map((f) => f.file),
      ['config.json'],
    )
    assert.deepEqual(readFileSync(join(snap.path, 'config.json')), CONFIG)
    assert.ok(matchesPattern('nested/dir/notes.txt', '*.txt'))
    assert.ok(matchesPattern('nested/dir/notes.txt', 'nested/'))
    assert.ok(!matchesPattern('config.json', '*.safetensors'))
  })
})

describe('datasetSplitFiles', () => {
  test('glue / sst2: one parquet file per split under <config>/<split>-*.parquet', async () => {
    const h = home()
    for (const [split, file] of [
      ['train', GLUE_SST2[1]],
      ['validation', GLUE_SST2[2]],
      ['test', GLUE_SST2[0]],
    ] as const) {
      const s = await datasetSplitFiles('glue', 'sst2', split, h.opts)
      assert.deepEqual(s.files, [file])
      assert.equal(s.canonicalId, 'nyu-mll/glue')
      assert.equal(s.revision, 'main')
    }
  })

  test('data/<split>-*.parquet for single-config datasets, shards in order', async () => {
    const h = home()
    const s = await datasetSplitFiles('org/single', 'default', 'train', h.opts)
    assert.deepEqual(s.files, ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet'])
  })

  test('falls back to refs/convert/parquet (<config>/<split>/0000.parquet) when main has no parquet', async () => {
    const h = home()
    const s = await datasetSplitFiles('org/csv-only', 'default', 'train', h.opts)
    assert.equal(s.revision, 'refs/convert/parquet')
    assert.deepEqual(s.files, ['default/train/0000.parquet'])
  })

  test('an unknown split says which config/split pairs exist', async () => {
    const h = home()
    await assert.rejects(datasetSplitFiles('glue', 'sst2', 'dev', h.opts), (e: unknown) => {
      const err = e as { _tag: string; message: string }
      assert.equal(err._tag, 'DatasetSplitNotFoundError')
      assert.match(err.message, /sst2\/validation/)
      assert.match(err.message, /'dev'/)
      return true
    })
  })

  test('pickSplitFiles does not confuse split prefixes (validation vs validation_matched)', () => {
    const files = ['mnli/validation_matched-00000-of-00001.parquet', 'mnli/validation-00000-of-00001.parquet', 'mnli/train-00000-of-00002.parquet']
    assert.deepEqual(pickSplitFiles(files, 'mnli', 'validation'), ['mnli/validation-00000-of-00001.parquet'])
    assert.deepEqual(pickSplitFiles(files, 'mnli', 'validation_matched'), ['mnli/validation_matched-00000-of-00001.parquet'])
    assert.deepEqual(pickSplitFiles(files, 'mnli', 'test'), [])
  })

  test('downloadDatasetSplit fetches the split into datasets--glue (the id as passed), and offline lists and reuses it', async () => {
    const h = home()
    const got = await downloadDatasetSplit('glue', 'sst2', 'validation', h.opts)
    const commit = server.commitOf('dataset', 'nyu-mll/glue', 'main')
    assert.deepEqual(
      got.cached.map((c) => c.path),
      [join(h.cache, 'datasets--glue', 'snapshots', commit, 'sst2', 'validation-00000-of-00001.parquet')],
    )
    assert.deepEqual(readFileSync(got.cached[0]!.path), SST2_VALIDATION)

    const n = server.log.length
    const events: HubEvent[] = []
    const offline = await downloadDatasetSplit('glue', 'sst2', 'validation', { ...h.opts, env: { ...h.env, HF_HUB_OFFLINE: '1' }, onEvent: (e) => events.push(e) })
    assert.equal(offline.cached[0]!.path, got.cached[0]!.path)
    assert.equal(server.log.length, n)

    // Hub unreachable: the cached listing is used, with a warning.
    const down = await datasetSplitFiles('glue', 'sst2', 'validation', { ...h.opts, endpoint: `http://127.0.0.1:${await closedPort()}`, onEvent: (e) => events.push(e) })
    assert.deepEqual(down.files, ['sst2/validation-00000-of-00001.parquet'])
    assert.ok(events.some((e) => e.type === 'warning' && /cached snapshot/.test(e.message)))
  })
})
