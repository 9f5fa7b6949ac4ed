// When the hub cannot be reached and the files are not cached, the error names both ways to work
// without it: local files, or HF_HUB_OFFLINE=1 with a cache that already holds them.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closedPort } from '../packages/runner/test/hub/hub-server.ts'
import { lorapipeAsync } from './support/cli.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-offline-'))

describe('the hub cannot be reached', () => {
  test('the run fails naming --set model.path and HF_HUB_OFFLINE=1 with a filled cache', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`
    const r = await lorapipeAsync(['run', 'pipelines/sst2-lora.yaml', '--out', join(tmp(), 'run')], {
      env: { HF_ENDPOINT: endpoint, HF_HUB_CACHE: tmp(), HF_HOME: tmp(), HF_HUB_OFFLINE: '' },
    })
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /distilbert-base-uncased/)
    assert.match(r.stderr, /ECONNREFUSED/)
    assert.match(r.stderr, /use local files \(a model folder with `--set model\.path=DIR`/)
    assert.match(r.stderr, /or set HF_HUB_OFFLINE=1 with a cache that already holds the files/)
  })
})
