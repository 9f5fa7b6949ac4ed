// The fused AdamW kernel of the wasm backend: its WebAssembly is the committed assembly of
// adamw.wat, and it computes what the element-by-element reference computes (the optimizer's
// comparison with torch runs on it too: test/trainer/optim.test.ts).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { fusedAdamW, type AdamWStep } from '../../src/backend/adamw-kernel.ts'
import { wasmBase64, wasmBase64Unshared } from '../../src/backend/adamw-wasm.ts'
import { generatedModule, root, wasmSources } from '../../../../scripts/gen-wasm.ts'

/**
 * The reference: torch.optim.AdamW's update element by element, every operation rounded to
 * float32 (what the kernel's float32 SIMD does): m and v in place, the new weights into `out`.
 */
function adamwUpdateInto(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, s: AdamWStep): void {
  const f = Math.fround
  const [beta1, beta2, eps, step, bc2, decay] = [s.beta1, s.beta2, s.eps, s.stepSize, s.bc2Sqrt, s.decay].map(f) as [number, number, number, number, number, number]
  const c1 = f(1 - beta1)
  const c2 = f(1 - beta2)
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]!
    const mi = f(f(beta1 * m[i]!) + f(c1 * gi))
    const vi = f(f(beta2 * v[i]!) + f(c2 * f(gi * gi)))
    m[i] = mi
    v[i] = vi
    out[i] = f(w[i]! * decay) - f(step * f(mi / f(f(f(Math.sqrt(vi)) / bc2) + eps)))
  }
}

describe('the fused AdamW kernel (wasm)', () => {
  before(() => selectBackend({ backend: 'wasm' }))
  after(() => selectBackend({ backend: 'cpu' }))

  test('adamw-wasm.ts is the assembly of adamw.wat (run `npm run gen` if not)', async () => {
    for (const [wat, out] of Object.entries(wasmSources)) assert.equal(readFileSync(`${root}/${out}`, 'utf8'), await generatedModule(wat), out)
  })

  test('the WebAssembly for a shared and for a plain memory computes the same bits as the reference loop', () => {
    for (const shared of [true, false]) {
      const n = 4 * 33 + 2
      const memory = new WebAssembly.Memory(shared ? { initial: 1, maximum: 16, shared: true } : { initial: 1 })
      const bytes = Buffer.from(shared ? wasmBase64 : wasmBase64Unshared, 'base64')
      const adamw = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.adamw as (...a: number[]) => void
      const heap = new Float32Array(memory.buffer)
      const at = (k: number) => 16 + k * n * 4 // five arrays, byte offsets
      const init = [0, 1, 2, 3].map((k) => Float32Array.from({ length: n }, (_, i) => (k === 3 ? 1e-3 : 0.1) * Math.abs(Math.sin(k * 7 + i)) * (k === 1 ? -1 : 1)))
      init.forEach((a, k) => heap.set(a, at(k) / 4))
      const s: AdamWStep = { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1e-3, bc2Sqrt: 0.0447, decay: 0.99998 }
      adamw(at(0), at(1), at(2), at(3), at(4), n, s.beta1, s.beta2, s.eps, s.stepSize, s.bc2Sqrt, s.decay)
      const [w, g, m, v] = init.map((a) => a.slice())
      const out = new Float32Array(n)
      adamwUpdateInto(w!, g!, m!, v!, out, s)
      const view = (k: number) => heap.slice(at(k) / 4, at(k) / 4 + n)
      assert.deepEqual(view(4), out, `weights (${shared ? 'shared' : 'plain'} memory)`)
      assert.deepEqual(view(2), m, 'm')
      assert.deepEqual(view(3), v, 'v')
    }
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
    // Both round every operation to float32: the same bits.
    const close = (a: Float32Array, b: Float32Array, what: string) => assert.deepEqual(a, b, what)
    close(out.dataSync() as Float32Array, ref.w, 'weights')
    close(m!.dataSync() as Float32Array, ref.m, 'm')
    close(v!.dataSync() as Float32Array, ref.v, 'v')
    assert.equal(m!.dataId, mId, 'm keeps its storage')
    assert.deepEqual(w!.dataSync(), w0, 'the old weights are left as they were')
    tf.dispose([w!, g!, m!, v!, out])
  })
})
