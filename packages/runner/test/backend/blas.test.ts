// The native BLAS path: the wasm backend's matrix products computed by the system's cblas_sgemm on
// the wasm heap must equal a float64 product (every transpose form, batches, broadcast batches,
// odd sizes, a heap that grew), and selection must say which path it took and why.
// Needs OpenBLAS (Debian: `apt-get install libopenblas0`, which .ci/run installs); without it the
// BLAS tests skip saying so, and the fallback tests still run.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import * as tf from '@tensorflow/tfjs-core'
import '../../src/nn/register-gradients.ts'
import { BackendError, describeBackend, selectBackend } from '../../src/backend/select.ts'
import { activeBlas, productShape } from '../../src/backend/blas/kernels.ts'
import { loadBlas } from '../../src/backend/blas/library.ts'
import { linear } from '../../src/ops/linear.ts'
import { batchMatMul, matmulStrategy } from '../../src/ops/matmul.ts'
import { values } from '../support/values.ts'

/** The OpenBLAS the system's loader knows about (independent of our own search). */
function systemOpenblas(): string | undefined {
  try {
    const out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return /\s(libopenblas\.so\.0)\s.*=>\s*(\S+)/.exec(out)?.[2]
  } catch {
    return undefined
  }
}
const OPENBLAS = process.platform === 'linux' ? systemOpenblas() : undefined
const needsBlas: string | false = OPENBLAS ? false : 'skipped: libopenblas.so.0 is not installed (Debian/Ubuntu: apt-get install libopenblas0)'

/** float64 reference of op(A) @ op(B) for row-major [.., m, k] arrays, batch g of each side given */
function reference(a: Float32Array, b: Float32Array, g: number, ga: number, gb: number, m: number, n: number, k: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(g * m * n)
  for (let q = 0; q < g; q++) {
    const ao = (ga === 1 ? 0 : q) * m * k
    const bo = (gb === 1 ? 0 : q) * k * n
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        for (let p = 0; p < k; p++) s += a[ao + (ta ? p * m + i : i * k + p)]! * b[bo + (tb ? j * k + p : p * n + j)]!
        out[q * m * n + i * n + j] = s
      }
    }
  }
  return out
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 2e-6): void {
  assert.equal(actual.length, expected.length, `${what}: size`)
  let worst = 0
  let scale = 1e-6
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!))
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
  }
  assert.ok(worst <= rel * scale, `${what}: max |diff| ${worst} against max |ref| ${scale}`)
}

describe('native BLAS kernels on the wasm heap', { skip: needsBlas }, () => {
  before(async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, env: {} })
    assert.ok(info.blas, `expected the system OpenBLAS (${OPENBLAS}) to be used: ${describeBackend(info)}`)
  })

  test('selection reports the library it found and the product forms switch to BLAS', async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, env: {} })
    assert.equal(info.blas?.kind, 'openblas')
    assert.equal(info.blas?.threads, 2)
    assert.match(describeBackend(info), /matrix products: OpenBLAS \d+\.\d+\.\d+ \(libopenblas\.so\.0, 2 threads\) \(found\)/)
    assert.equal(matmulStrategy(), 'blas')
  })

  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      test(`a [7,13] x [13,5] product with transposeA=${ta}, transposeB=${tb} equals the float64 product`, () => {
        const [m, k, n] = [7, 13, 5]
        const av = values(m * k, 11)
        const bv = values(k * n, 12)
        const a = tf.tensor2d(av, ta ? [k, m] : [m, k])
        const b = tf.tensor2d(bv, tb ? [n, k] : [k, n])
        const c = tf.matMul(a, b, ta, tb)
        assert.deepEqual(c.shape, [m, n])
        assertClose(c.dataSync(), reference(av, bv, 1, 1, 1, m, n, k, ta, tb), 'product')
        tf.dispose([a, b, c])
      })
    }
  }

  test('batched products ([4, 9, 6] x [4, 6, 3]) in every transpose form, as attention computes them', () => {
    const [g, m, k, n] = [4, 9, 6, 3]
    const av = values(g * m * k, 21)
    const bv = values(g * k * n, 22)
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = tf.tensor3d(av, ta ? [g, k, m] : [g, m, k])
        const b = tf.tensor3d(bv, tb ? [g, n, k] : [g, k, n])
        const c = tf.matMul(a, b, ta, tb)
        assert.deepEqual(c.shape, [g, m, n])
        assertClose(c.dataSync(), reference(av, bv, g, g, g, m, n, k, ta, tb), `ta=${ta} tb=${tb}`)
        tf.dispose([a, b, c])
      }
    }
  })

  test('broadcast batches: one matrix against a batch on either side, and rank-4 batches', () => {
    const [m, k, n] = [5, 4, 3]
    const one = values(m * k, 31)
    const many = values(6 * k * n, 32)
    const a = tf.tensor3d(one, [1, m, k])
    const b = tf.tensor4d(many, [2, 3, k, n])
    const c = tf.matMul(a, b)
    assert.deepEqual(c.shape, [2, 3, m, n])
    assertClose(c.dataSync(), reference(one, many, 6, 1, 6, m, n, k, false, false), 'A repeated')
    const a2 = tf.tensor4d(values(6 * m * k, 33), [2, 3, m, k])
    const b2 = tf.tensor2d(values(k * n, 34), [k, n])
    const c2 = tf.matMul(a2, b2)
    assert.deepEqual(c2.shape, [2, 3, m, n])
    assertClose(c2.dataSync(), reference(values(6 * m * k, 33), values(k * n, 34), 6, 6, 1, m, n, k, false, false), 'B repeated')
    tf.dispose([a, b, c, a2, b2, c2])
  })

  test('odd and degenerate sizes: a row, a column, an inner size of 1, and an empty inner size gives zeros', () => {
    for (const [m, k, n] of [[1, 17, 1], [1, 3, 11], [19, 1, 2], [3, 64, 1]] as const) {
      const av = values(m * k, m + k)
      const bv = values(k * n, k + n)
      const c = tf.tidy(() => tf.matMul(tf.tensor2d(av, [m, k]), tf.tensor2d(bv, [k, n])))
      assertClose(c.dataSync(), reference(av, bv, 1, 1, 1, m, n, k, false, false), `[${m},${k}]x[${k},${n}]`)
      c.dispose()
    }
    const z = tf.tidy(() => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])))
    assert.deepEqual(Array.from(z.dataSync()), new Array(12).fill(0))
    z.dispose()
  })

  test('fused products add the bias (vector or scalar) and leave other activations to the wasm kernel', () => {
    const [m, k, n] = [6, 10, 8]
    const av = values(m * k, 41)
    const wv = values(n * k, 42)
    const biasV = values(n, 43)
    const ref = reference(av, wv, 1, 1, 1, m, n, k, false, true)
    const withBias = Float64Array.from(ref, (v, i) => v + biasV[i % n]!)
    const x = tf.tensor2d(av, [m, k])
    const w = tf.tensor2d(wv, [n, k])
    const y = tf.fused.matMul({ a: x, b: w, transposeB: true, bias: tf.tensor1d(biasV) })
    assertClose(y.dataSync(), withBias, 'bias [n]')
    const y1 = tf.fused.matMul({ a: x, b: w, transposeB: true, bias: tf.tensor1d([0.5]) })
    assertClose(y1.dataSync(), Float64Array.from(ref, (v) => v + 0.5), 'bias [1]')
    // (tfjs-backend-wasm 4.22's own fused kernel ignores transposeB, so the fallback case is untransposed)
    const wt = tf.transpose(w)
    const r = tf.fused.matMul({ a: x, b: wt, bias: tf.tensor1d(biasV), activation: 'relu' })
    assertClose(r.dataSync(), Float64Array.from(withBias, (v) => Math.max(0, v)), 'relu (wasm kernel)')
    tf.dispose([x, w, wt, y, y1, r])
  })

  test('stays correct after the wasm memory grows (views are taken from the current buffer)', () => {
    const [m, k, n] = [33, 47, 29]
    const av = values(m * k, 51)
    const bv = values(k * n, 52)
    const a = tf.tensor2d(av, [m, k])
    const b = tf.tensor2d(bv, [k, n])
    const memory = (tf.backend() as unknown as { wasm: { wasmMemory: WebAssembly.Memory } }).wasm.wasmMemory
    const before = memory.buffer.byteLength
    const big = tf.zeros([before / 4 + (1 << 20)]) // more than the whole heap: it must grow
    assert.ok(memory.buffer.byteLength > before, 'the heap grew')
    const c = tf.matMul(a, b, false, false)
    assertClose(c.dataSync(), reference(av, bv, 1, 1, 1, m, n, k, false, false), 'after growth')
    tf.dispose([a, b, c, big])
  })

  test('gradients of linear and attention products (transpose flags) equal those of the wasm kernels', async () => {
    const grads = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(values(12 * 9, 61), [12, 9])
        const w = tf.tensor2d(values(7 * 9, 62), [7, 9])
        const bias = tf.tensor1d(values(7, 63))
        const q = tf.tensor3d(values(3 * 5 * 4, 64), [3, 5, 4])
        const kk = tf.tensor3d(values(3 * 5 * 4, 65), [3, 5, 4])
        const weights = tf.tensor2d(values(12 * 7, 66), [12, 7])
        const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor, qq: tf.Tensor, kq: tf.Tensor) => {
          const lin = tf.sum(tf.mul(linear(xx, ww as tf.Tensor2D, bb as tf.Tensor1D), weights))
          const s = batchMatMul(qq as tf.Tensor3D, kq as tf.Tensor3D, false, true)
          return tf.add(lin, tf.sum(tf.mul(batchMatMul(s, kq as tf.Tensor3D), 0.5)))
        }
        return tf.grads(f)([x, w, bias, q, kk]).map((g) => g.dataSync())
      })
    const withBlas = grads()
    await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
    assert.equal(matmulStrategy(), 'fast')
    const withWasm = grads()
    await selectBackend({ backend: 'wasm', threads: 2, env: {} })
    assert.equal(matmulStrategy(), 'blas')
    withBlas.forEach((g, i) => assertClose(g, withWasm[i]!, `gradient ${i}`, 1e-5))
  })
})

describe('choosing the matrix-product path', () => {
  after(async () => {
    await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
  })

  test('LORAPIPE_BLAS=off keeps the wasm kernels and says so', async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, blas: 'auto', env: { LORAPIPE_BLAS: 'off' } })
    assert.equal(info.blas, null)
    assert.equal(activeBlas(), null)
    assert.equal(matmulStrategy(), 'fast')
    assert.match(describeBackend(info), /matrix products: wasm \(BLAS off by LORAPIPE_BLAS\)/)
  })

  test('runtime.blas: off from the pipeline is reported as such', async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, blas: 'off', env: {} })
    assert.equal(info.blas, null)
    assert.match(describeBackend(info), /BLAS off by runtime\.blas/)
  })

  test('a library path that does not exist is a tagged error naming the setting and the fix', async () => {
    await assert.rejects(selectBackend({ backend: 'wasm', threads: 2, blas: '/nonexistent/libopenblas.so.0', env: {} }), (e: unknown) => {
      assert.ok(e instanceof BackendError)
      assert.match(e.message, /BLAS library '\/nonexistent\/libopenblas\.so\.0' requested by runtime\.blas could not be used: .*does not exist; give the path of a library that has cblas_sgemm/)
      return true
    })
  })

  test('a library without cblas_sgemm is refused with the reason', () => {
    const r = loadBlas({ path: 'libc.so.6', threads: 1 })
    if (process.platform !== 'linux') return
    assert.equal(r.ok, false)
    assert.match((r as { why: string }).why, /libc\.so\.6 has no cblas_sgemm/)
  })

  test('when no candidate loads, the reason lists every library looked for', () => {
    if (process.platform !== 'linux') return
    // the Windows names cannot load on Linux: the search comes back empty, with the list
    const r = loadBlas({ threads: 1, platform: 'win32' })
    assert.equal(r.ok, false)
    assert.equal((r as { why: string }).why, 'no BLAS library found (looked for libopenblas.dll, mkl_rt.2.dll)')
  })

  test('a library named by path is used and reported as requested', { skip: needsBlas }, async () => {
    const info = await selectBackend({ backend: 'wasm', threads: 2, blas: OPENBLAS!, env: {} })
    assert.equal(info.blas?.path, OPENBLAS)
    assert.match(describeBackend(info), /\(requested by runtime\.blas\)/)
  })

  test('the cpu backend brings no BLAS kernels and the ops use tfjs products there', async () => {
    const info = await selectBackend({ backend: 'cpu', env: {} })
    assert.equal(info.blas, null)
    assert.equal(info.blasReason, undefined)
    assert.equal(matmulStrategy(), 'tfjs')
  })

  test('product shapes: batch dimensions that broadcast in two directions are left to the wasm kernel', () => {
    assert.equal(productShape([2, 1, 3, 4], [1, 5, 4, 6], false, false), null)
    assert.deepEqual(productShape([1, 3, 4], [5, 4, 6], false, false)?.outBatchShape, [5])
    assert.equal(productShape([3, 4], [5, 6], false, false), null)
  })
})
