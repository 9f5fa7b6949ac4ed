// Backend selection: preference order, overrides, clear errors, idempotence.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs-core'
import { BackendError, describeBackend, selectBackend } from '../../src/backend/select.ts'

test('auto falls through the native packages (not installed here) to wasm and says why', async () => {
  const info = await selectBackend({ env: {} })
  assert.equal(info.name, 'wasm')
  assert.equal(tf.getBackend(), 'wasm')
  assert.equal(info.source, 'auto')
  assert.match(info.reason, /tfjs-node not installed.*using wasm/)
  assert.ok(info.threads >= 1)
  assert.match(describeBackend(info), /^wasm \(\d+ threads?\): /)
})

test('is idempotent: the same request returns the same description', async () => {
  const a = await selectBackend({ backend: 'wasm', env: {} })
  const b = await selectBackend({ backend: 'wasm', env: {} })
  assert.equal(a, b)
})

test('LORAPIPE_BACKEND overrides the pipeline value', async () => {
  const info = await selectBackend({ backend: 'wasm', env: { LORAPIPE_BACKEND: 'cpu' } })
  assert.equal(info.name, 'cpu')
  assert.equal(info.source, 'env')
  assert.equal(tf.getBackend(), 'cpu')
  await selectBackend({ backend: 'wasm', env: {} })
  assert.equal(tf.getBackend(), 'wasm')
})

test('an explicitly requested backend that is missing is a tagged error telling how to install it', async () => {
  await assert.rejects(selectBackend({ backend: 'tfjs-node', env: {} }), (e: unknown) => {
    assert.ok(e instanceof BackendError)
    assert.equal(e._tag, 'BackendError')
    assert.equal(e.requested, 'tfjs-node')
    assert.match(e.message, /not installed; install it with `npm install @tensorflow\/tfjs-node`/)
    return true
  })
})

test('rejects an unknown backend name and lists the valid ones', async () => {
  await assert.rejects(selectBackend({ env: { LORAPIPE_BACKEND: 'tpu' } }), /unknown backend 'tpu' in LORAPIPE_BACKEND: use auto, tfjs-node-gpu, tfjs-node, wasm, cpu/)
})
