import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { deleteRepo, hfHubDownload, scanCache } from '../../src/hub/index.ts'
import { gitBlobSha1, sha256, startHubServer, type HubServer } from './hub-server.ts'
import { CONFIG, CONFIG_V1, SST2_TRAIN, WEIGHTS, cleanEnv, hubRepos, tempDir } from './fixtures.ts'

let server: HubServer
const t = tempDir()
const env = cleanEnv(t.dir)
before(async () => {
  server = await startHubServer(hubRepos())
  env.HF_ENDPOINT = server.url
  const opts = { env }
  await hfHubDownload('org/tiny-model', 'config.json', opts)
  await hfHubDownload('org/tiny-model', 'model.safetensors', opts)
  await hfHubDownload('org/tiny-model', 'config.json', { ...opts, revision: 'v1.0' })
  await hfHubDownload('glue', 'sst2/train-00000-of-00001.parquet', { ...opts, repoType: 'dataset' })
})
after(async () => {
  await server.close()
  t.cleanup()
})

test('scanCache lists repos with type, id, size of distinct blobs, file count, refs and revisions (largest first)', () => {
  const scan = scanCache({ env })
  assert.equal(scan.cacheDir, join(t.dir, 'hub'))
  assert.deepEqual(
    scan.repos.map((r) => [r.repoType, r.repoId]),
    [
      ['model', 'org/tiny-model'],
      ['dataset', 'glue'],
    ],
  )
  const model = scan.repos[0]!
  assert.equal(model.sizeOnDisk, CONFIG.length + WEIGHTS.length + CONFIG_V1.length)
  assert.equal(model.nbFiles, 3)
  assert.deepEqual(model.refs, {
    main: server.commitOf('model', 'org/tiny-model', 'main'),
    'v1.0': server.commitOf('model', 'org/tiny-model', 'v1.0'),
  })
  const main = model.revisions.find((r) => r.refs.includes('main'))!
  assert.deepEqual(main.files.map((f) => f.name).sort(), ['config.json', 'model.safetensors'])
  assert.equal(main.sizeOnDisk, CONFIG.length + WEIGHTS.length)
  assert.equal(main.files.find((f) => f.name === 'config.json')!.blobPath, join(model.path, 'blobs', gitBlobSha1(CONFIG)))
  assert.ok(model.lastModified instanceof Date && model.lastModified.getTime() > 0)
  const glue = scan.repos[1]!
  assert.equal(glue.sizeOnDisk, SST2_TRAIN.length)
  assert.equal(glue.path, join(t.dir, 'hub', 'datasets--glue'))
  assert.equal(scan.sizeOnDisk, model.sizeOnDisk + glue.sizeOnDisk)
  assert.deepEqual(scan.warnings, [])
})

test('scanCache counts partial downloads separately and reports stray folders without failing', () => {
  const blobs = join(t.dir, 'hub', 'models--org--tiny-model', 'blobs')
  writeFileSync(join(blobs, `${'a'.repeat(64)}.incomplete`), Buffer.alloc(1234))
  mkdirSync(join(t.dir, 'hub', 'not-a-repo'))
  const scan = scanCache({ env })
  assert.equal(scan.repos[0]!.incompleteBytes, 1234)
  assert.equal(scan.warnings.length, 1)
  assert.match(scan.warnings[0]!, /not-a-repo/)
})

test('deleteRepo refuses unsafe ids and repos being downloaded, removes the folder and its locks, and reports freed bytes', () => {
  assert.throws(() => deleteRepo('../hub', 'model', { env }), (e: unknown) => (e as { _tag: string })._tag === 'InvalidHubNameError')
  assert.throws(() => deleteRepo('org/../..', 'model', { env }), (e: unknown) => (e as { _tag: string })._tag === 'InvalidHubNameError')

  const locks = join(t.dir, 'hub', '.locks', 'datasets--glue')
  const live = join(locks, `${sha256(SST2_TRAIN)}.lock`)
  writeFileSync(live, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'n', since: Date.now() }))
  assert.throws(
    () => deleteRepo('glue', 'dataset', { env }),
    (e: unknown) => (e as { _tag: string; message: string })._tag === 'HubLockError' && /downloading/.test((e as Error).message),
  )
  assert.ok(existsSync(join(t.dir, 'hub', 'datasets--glue')))

  // A lock left behind by a process that died does not block it.
  const before = scanCache({ env })
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!
  writeFileSync(live, JSON.stringify({ pid: dead, host: hostname(), nonce: 'n', since: 0 }))
  const r = deleteRepo('glue', 'dataset', { env })
  assert.equal(r.deleted, true)
  assert.equal(r.freedBytes, SST2_TRAIN.length)
  assert.equal(existsSync(join(t.dir, 'hub', 'datasets--glue')), false)
  assert.equal(existsSync(locks), false)
  assert.deepEqual(
    scanCache({ env }).repos.map((x) => x.repoId),
    before.repos.filter((x) => x.repoId !== 'glue').map((x) => x.repoId),
  )
  assert.equal(deleteRepo('glue', 'dataset', { env }).deleted, false)
  assert.ok(existsSync(join(t.dir, 'hub', 'models--org--tiny-model')))
})
