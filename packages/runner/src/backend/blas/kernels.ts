// Matrix-product kernels of the wasm backend that call the system BLAS on the wasm heap itself.
// Tensors of tfjs-backend-wasm live in the module's linear memory at `memoryOffset` (its
// dataIdMap); sgemm reads A and B and writes C there through Float32Array views, no copy. The
// wasm kernels are limited to 128-bit SIMD and run transposed or batched products as naive
// loops; native sgemm takes every form through its transpose flags at full speed.
// The memory is a SharedArrayBuffer when wasm threads are on, and it can grow (a new buffer): the
// views are made from the current buffer on each call, after the output is allocated.
// Anything these kernels do not cover (int32, broadcasting across several batch dimensions, fused
// activations other than linear, a bias that is not a vector) goes to the original wasm kernel.
// (That kernel's _FusedMatMul ignores transposeB in tfjs-backend-wasm 4.22; ops/linear.ts only
// asks for it on the BLAS path, where the product here handles it.)
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import type { BlasLibrary, Sgemm } from './library.ts'
import { memoryOffset } from '../wasm-module.ts'

interface WasmInternals {
  wasm: { wasmMemory?: WebAssembly.Memory; HEAPU8: Uint8Array }
}

function heap(backend: BackendWasm): Float32Array {
  const w = (backend as unknown as WasmInternals).wasm
  return new Float32Array((w.wasmMemory ?? w.HEAPU8).buffer)
}

/** Index in HEAPF32 of a tensor's first element (wasm malloc aligns to 8 bytes or more). */
const floatOffset = (backend: BackendWasm, t: tf.TensorInfo): number => memoryOffset(backend, t) >>> 2

interface ProductShape {
  readonly batchA: number
  readonly batchB: number
  readonly batch: number
  readonly outBatchShape: number[]
  readonly m: number
  readonly n: number
  readonly k: number
}

/** Shapes of op(A) @ op(B) with batch dims flattened; null when only the wasm kernel can do it. */
export function productShape(a: readonly number[], b: readonly number[], ta: boolean, tb: boolean): ProductShape | null {
  const ra = a.length
  const rb = b.length
  if (ra < 2 || rb < 2) return null
  const m = ta ? a[ra - 1]! : a[ra - 2]!
  const ka = ta ? a[ra - 2]! : a[ra - 1]!
  const kb = tb ? b[rb - 1]! : b[rb - 2]!
  const n = tb ? b[rb - 2]! : b[rb - 1]!
  if (ka !== kb) return null
  const outerA = a.slice(0, -2)
  const outerB = b.slice(0, -2)
  const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1)
  let outBatchShape: number[]
  try {
    outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape([...outerA], [...outerB])
  } catch {
    return null // the wasm kernel reports the error
  }
  const batch = size(outBatchShape)
  const batchA = size(outerA)
  const batchB = size(outerB)
  // Each side is either the whole batch (then, broadcasting being valid, laid out as the output)
  // or a single matrix repeated (stride 0); other mixes are for the wasm kernel.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null
  return { batchA, batchB, batch, outBatchShape, m, n, k: ka }
}

/**
 * out[g] = op(A[g]) @ op(B[g]) (+ bias per column) for every batch entry, on the wasm heap.
 * `bias` (length n, or 1) prefills C and sgemm adds to it (beta = 1).
 */
function gemm(
  sgemm: Sgemm,
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
  s: ProductShape,
  bias: tf.TensorInfo | null,
): tf.TensorInfo {
  const { m, n, k } = s
  const out = backend.makeOutput([...s.outBatchShape, m, n], 'float32')
  if (m * n * s.batch === 0) return out
  // after makeOutput: allocating may have grown (replaced) the memory
  const h = heap(backend)
  const ao = floatOffset(backend, a)
  const bo = floatOffset(backend, b)
  const co = floatOffset(backend, out)
  const sa = s.batchA === 1 ? 0 : m * k
  const sb = s.batchB === 1 ? 0 : k * n
  const total = s.batch * m * n
  let beta = 0
  if (bias) {
    const bv = h.subarray(floatOffset(backend, bias), floatOffset(backend, bias) + (bias.shape[0] ?? 1))
    if (bv.length === 1) h.fill(bv[0]!, co, co + total)
    else for (let r = 0; r < s.batch * m; r++) h.set(bv, co + r * n)
    beta = 1
  } else if (k === 0) {
    h.fill(0, co, co + total)
  }
  if (k === 0) return out
  const lda = ta ? m : k
  const ldb = tb ? k : n
  for (let g = 0; g < s.batch; g++) {
    const A = h.subarray(ao + g * sa, ao + g * sa + m * k)
    const B = h.subarray(bo + g * sb, bo + g * sb + k * n)
    const C = h.subarray(co + g * m * n, co + (g + 1) * m * n)
    sgemm(ta, tb, m, n, k, 1, A, lda, B, ldb, beta, C, n)
  }
  return out
}

function blasBatchMatMul(sgemm: Sgemm, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean }
    const s = a.dtype === 'float32' && b.dtype === 'float32' ? productShape(a.shape, b.shape, transposeA, transposeB) : null
    if (!s) return fallback(args)
    return gemm(sgemm, args.backend as BackendWasm, a, b, transposeA, transposeB, s, null)
  }
}

function blasFusedMatMul(sgemm: Sgemm, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: tf.TensorInfo
      b: tf.TensorInfo
      bias?: tf.TensorInfo
      preluActivationWeights?: tf.TensorInfo
    }
    const { transposeA, transposeB, activation } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation: string }
    const s = a.dtype === 'float32' && b.dtype === 'float32' ? productShape(a.shape, b.shape, transposeA, transposeB) : null
    const plainBias = bias == null || (bias.dtype === 'float32' && bias.shape.length === 1 && (bias.shape[0] === s?.n || bias.shape[0] === 1))
    if (!s || !plainBias || preluActivationWeights != null || (activation !== 'linear' && activation != null)) return fallback(args)
    return gemm(sgemm, args.backend as BackendWasm, a, b, transposeA, transposeB, s, bias ?? null)
  }
}

const REPLACED = ['BatchMatMul', '_FusedMatMul'] as const
const originals = new Map<string, tf.KernelConfig>()
let active: BlasLibrary | null = null

/**
 * Puts the BLAS kernels in place of the wasm backend's matrix products (lib), or puts the wasm
 * kernels back (null). Other kernels are untouched; gradients (by kernel name) stay tfjs-core's.
 */
export function useBlasKernels(lib: BlasLibrary | null): void {
  for (const name of REPLACED) {
    if (!originals.has(name)) {
      const k = tf.getKernel(name, 'wasm')
      if (!k) throw new Error(`the wasm backend has no ${name} kernel to replace (tfjs-backend-wasm not registered?)`)
      originals.set(name, k)
    }
    const original = originals.get(name)!
    tf.unregisterKernel(name, 'wasm')
    if (!lib) {
      tf.registerKernel(original)
      continue
    }
    const make = name === 'BatchMatMul' ? blasBatchMatMul : blasFusedMatMul
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(lib.sgemm, original.kernelFunc) })
  }
  active = lib
}

/** The BLAS whose kernels the wasm backend runs now, or null. */
export function activeBlas(): BlasLibrary | null {
  return active
}

/** True when matrix products on the current backend go to BLAS (the ops pick their forms by it). */
export function blasProductsActive(): boolean {
  return active !== null && tf.getBackend() === 'wasm'
}
