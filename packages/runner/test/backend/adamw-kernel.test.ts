// The fused AdamW kernel of the wasm backend: its WebAssembly is the committed assembly of
// adamw.wat, and it computes what the element-by-element reference computes (the optimizer's
// comparison with torch runs on it too: test/trainer/optim.test.ts).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { adamwUpdateInto, fusedAdamW, type AdamWStep } from '../../src/backend/adamw-kernel.ts'
import { generatedModule, root, wasmSources } from '../../../../scripts/gen-wasm.ts'

describe('the fused AdamW kernel (wasm)', () => {
  before(() => selectBackend({ backend: 'wasm' }))
  after(() => selectBackend({ backend: 'cpu' }))

  test('adamw-wasm.ts is the assembly of adamw.wat (run `npm run gen` if not)', async () => {
    for (const [wat, out] of Object.entries(wasmSources)) assert.equal(readFileSync(`${root}/${out}`, 'utf8'), await generatedModule(wat), out)
  })

  test('updates m and v in place and returns new weights equal to the reference loop, tail included', () => {
    const n = 4 * 257 + 3 // SIMD lanes and a scalar tail
    const rand = (scale: number, seed: number) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(seed * 1000 + i * 0.37))
    const w0 = rand(1, 1)
    const g0 = rand(0.1, 2)
    const m0 = rand(0.01, 3)
    const v0 = rand(0.001, 4).map(Math.abs)
    const step: AdamWStep = { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 2e-4 / (1 - 0.9 ** 3), bc2Sqrt: Math.sqrt(1 - 0.999 ** 3), decay: 1 - 2e-4 * 0.01 }
    const [w, g, m, v] = [w0, g0, m0, v0].map((a) => tf.tensor1d(a))
    const mId = m!.dataId
    const out = fusedAdamW(w!, g!, m!, v!, step)
    assert.ok(out, 'the wasm backend has the kernel')
    const ref = { w: new Float32Array(n), m: m0.slice(), v: v0.slice() }
    adamwUpdateInto(w0, g0, ref.m, ref.v, ref.w, step)
    const close = (a: Float32Array, b: Float32Array, what: string) => {
      for (let i = 0; i < n; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-6 * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`)
    }
    close(out.dataSync() as Float32Array, ref.w, 'weights')
    close(m!.dataSync() as Float32Array, ref.m, 'm')
    close(v!.dataSync() as Float32Array, ref.v, 'v')
    assert.equal(m!.dataId, mId, 'm keeps its storage')
    assert.deepEqual(w!.dataSync(), w0, 'the old weights are left as they were')
    tf.dispose([w!, g!, m!, v!, out])
  })
})
