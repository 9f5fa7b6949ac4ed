// The seed pipeline's model and dataset come through the hub client: fetched once from a local
// hub into a huggingface_hub-layout cache, then found again with HF_HUB_OFFLINE=1 and no server.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { datasetSchema, modelSchema } from '../packages/core/src/pipeline/sections/index.ts'
import { withDefaults } from '../packages/core/src/schema/validate.ts'
import { resolveDataset, resolveModel } from '../packages/runner/src/resolve/index.ts'
import { loadSplits } from '../packages/runner/src/data/index.ts'
import { needsShared, shared } from './support/shared.ts'
import { startSeedHub } from './support/hub-fixture.ts'

const seedDataset = {
  id: 'glue',
  config: 'sst2',
  text_column: 'sentence',
  label_column: 'label',
  train: { split: 'train', shuffle: true, seed: 42, limit: 2000 },
  eval: { split: 'validation' },
}

function ctx() {
  const events: { _tag: string; [k: string]: unknown }[] = []
  return { events, resolvePath: (p: string) => p, signal: new AbortController().signal, emitSync: (e: { _tag: string }) => void events.push(e) }
}

describe('model and dataset from the hub', { skip: needsShared }, () => {
  test('online: fetched with progress events; offline: the same files from the cache alone', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'lorapipe-hubcache-'))
    const hub = await startSeedHub()
    const prev = { ...process.env }
    process.env.HF_ENDPOINT = hub.url
    process.env.HF_HUB_CACHE = cache
    delete process.env.HF_HUB_OFFLINE
    try {
      const c = ctx()
      const model = await resolveModel(withDefaults(modelSchema, { id: 'distilbert-base-uncased' }), c)
      assert.match(model.source, /^hub:distilbert-base-uncased@[0-9a-f]{40}$/)
      assert.ok(model.dir!.startsWith(join(cache, 'models--distilbert-base-uncased', 'snapshots')))
      assert.deepEqual(readFileSync(join(model.dir!, 'model.safetensors')), readFileSync(shared('fixtures', 'tiny-distilbert', 'model.safetensors')))
      const ds = await resolveDataset(withDefaults(datasetSchema, seedDataset), c)
      assert.deepEqual(ds.sources.map((s) => s.split), ['train', 'eval'])
      assert.ok(c.events.some((e) => e._tag === 'Download' && e.file === 'sst2/train-00000-of-00001.parquet' && e.done === true))
      const splits = await loadSplits(ds.dataset as Parameters<typeof loadSplits>[0], { seed: 42 })
      assert.equal(splits.train.rows.length, 2000)
      assert.equal(splits.eval!.rows.length, 872)
      assert.deepEqual(splits.train.labelNames, ['negative', 'positive'])
      assert.equal(splits.eval!.rows[0]!.text, "it 's a charming and often affecting journey . ")

      await hub.close()
      process.env.HF_HUB_OFFLINE = '1'
      const c2 = ctx()
      const again = await resolveModel(withDefaults(modelSchema, { id: 'distilbert-base-uncased' }), c2)
      assert.equal(again.dir, model.dir)
      const ds2 = await resolveDataset(withDefaults(datasetSchema, seedDataset), c2)
      assert.deepEqual(ds2.dataset, ds.dataset)
      await assert.rejects(resolveModel(withDefaults(modelSchema, { id: 'bert-base-uncased' }), c2), (e: Error) => /offline|not in the cache/i.test(e.message))
    } finally {
      process.env = prev
      await hub.close().catch(() => {})
    }
  })
})
