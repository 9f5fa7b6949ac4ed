// Matrix products for the models, arranged so the backend runs its fast kernels in forward AND
// backward. On tfjs-backend-wasm (measured, 2 threads, issue 3):
//  - only the unbatched, untransposed a[M,K] @ b[K,N] uses XNNPACK (~55 GFLOPS); transposeA/B or a
//    batch > 1 run a naive loop (0.6-2.6 GFLOPS), and tfjs' matMul gradient uses those forms;
//  - a batched product C[g] = A[g] @ B[g] maps exactly onto XNNPACK's depthwise convolution
//    (groups = g, channel multiplier = N, a 1 x K window), 4-5x faster than the naive loop.
// So: transposes are materialised (cheap, memory-bound), every product is computed in one of those
// fast forms, and the gradients (registered per input, so only the needed ones run) do the same.
// CONTRACT: `batchMatMul`'s signature stays (the models call it).
// On other backends (cpu, tfjs-node) these are tf.matMul with its own gradient.
// With the system BLAS behind the wasm backend's products (backend/blas), every form — transposed,
// batched — is fast as it is: the 'blas' strategy is tf.matMul with transpose flags, no
// materialised transposes, no cached copies of weights.
import * as tf from '@tensorflow/tfjs-core'
import { blasProductsActive } from '../backend/blas/kernels.ts'
import { transposed } from './transpose.ts'

export type MatmulStrategy = 'fast' | 'tfjs' | 'blas'
let forced: MatmulStrategy | undefined

/**
 * 'blas' when the wasm backend's products run on the system BLAS, else 'fast' on wasm, 'tfjs'
 * elsewhere, unless overridden (benchmarks compare with 'tfjs'; tests force 'fast' on cpu).
 */
export function matmulStrategy(): MatmulStrategy {
  return forced ?? (blasProductsActive() ? 'blas' : tf.getBackend() === 'wasm' ? 'fast' : 'tfjs')
}

/** Overrides the strategy (undefined: back to the default). For benchmarks and tests. */
export function setMatmulStrategy(s: MatmulStrategy | undefined): void {
  forced = s
}

const MATMUL = 'LorapipeMatMul'
const BATCH_MATMUL = 'LorapipeBatchMatMul'

/** Plain a @ b on the current backend's BatchMatMul kernel (the XNNPACK path on wasm). */
export function plainMatMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b)
}

/**
 * C[g] = A[g] @ B[g] for A [G,M,K], B [G,K,N], via a depthwise convolution:
 * input [M, 1, K, G] (x[m,0,k,g] = A[g,m,k]), filter [1, K, G, N], output [M, 1, 1, G*N].
 * `ta`/`tb` say that A is given as [G,K,M] / B as [G,N,K]; they fold into the layout transposes.
 */
function depthwiseBatchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, ta: boolean, tb: boolean): tf.Tensor3D {
  return tf.tidy(() => {
    const g = a.shape[0]
    const [m, k] = ta ? [a.shape[2], a.shape[1]] : [a.shape[1], a.shape[2]]
    const n = tb ? b.shape[1] : b.shape[2]
    const x = tf.reshape(tf.transpose(a, ta ? [2, 1, 0] : [1, 2, 0]), [m, 1, k, g]) as tf.Tensor4D
    const f = tf.reshape(tf.transpose(b, tb ? [2, 0, 1] : [1, 0, 2]), [1, k, g, n]) as tf.Tensor4D
    const out = tf.depthwiseConv2d(x, f, 1, 'valid') // [m, 1, 1, g*n]
    return tf.transpose(tf.reshape(out, [m, g, n]), [1, 0, 2]) as tf.Tensor3D
  })
}

function fastBatch(a: tf.Tensor3D, b: tf.Tensor3D, ta: boolean, tb: boolean): tf.Tensor3D {
  if (a.shape[0] === 1 && b.shape[0] === 1) {
    // One matrix: the plain XNNPACK product beats the convolution.
    return tf.tidy(() => {
      const a2 = tf.reshape(a, [a.shape[1], a.shape[2]]) as tf.Tensor2D
      const b2 = tf.reshape(b, [b.shape[1], b.shape[2]]) as tf.Tensor2D
      const y = plainMatMul(ta ? tf.transpose(a2) : a2, tb ? transposed(b2) : b2)
      return tf.reshape(y, [1, ...y.shape]) as tf.Tensor3D
    })
  }
  return depthwiseBatchMatMul(a, b, ta, tb)
}

function ensureKernels(): void {
  const backendName = tf.getBackend()
  if (tf.getKernel(BATCH_MATMUL, backendName) === undefined) {
    tf.registerKernel({
      kernelName: BATCH_MATMUL,
      backendName,
      // A kernel that composes ops: they run untaped (kernel depth > 0); the gradient below is the
      // one recorded for the whole product.
      kernelFunc: ({ inputs, attrs }) => {
        const { a, b } = inputs as { a: tf.Tensor3D; b: tf.Tensor3D }
        const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean }
        return fastBatch(a, b, transposeA, transposeB)
      },
    })
  }
  if (tf.getKernel(MATMUL, backendName) === undefined) {
    tf.registerKernel({
      kernelName: MATMUL,
      backendName,
      kernelFunc: ({ inputs }) => {
        const { a, b } = inputs as { a: tf.Tensor2D; b: tf.Tensor2D }
        return plainMatMul(a, b)
      },
    })
  }
}

// The product rule written so each needed product is again a fast batched product.
tf.registerGradient({
  kernelName: BATCH_MATMUL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor3D, tf.Tensor3D]
    const d = dy as tf.Tensor3D
    const { transposeA: ta, transposeB: tb } = attrs as unknown as { transposeA: boolean; transposeB: boolean }
    if (!ta && !tb) return { a: () => batchMatMul(d, b, false, true), b: () => batchMatMul(a, d, true, false) }
    if (!ta && tb) return { a: () => batchMatMul(d, b, false, false), b: () => batchMatMul(d, a, true, false) }
    if (ta && !tb) return { a: () => batchMatMul(b, d, false, true), b: () => batchMatMul(a, d, false, false) }
    return { a: () => batchMatMul(b, d, true, true), b: () => batchMatMul(d, a, true, true) }
  },
})

tf.registerGradient({
  kernelName: MATMUL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved as [tf.Tensor2D, tf.Tensor2D]
    const d = dy as tf.Tensor2D
    // da = dy @ b^T, db = a^T @ dy; transposes are materialised (cached when b is a frozen weight).
    return {
      a: () => tf.tidy(() => matMul2d(d, transposed(b))),
      b: () => tf.tidy(() => matMul2d(transposed(a), d)),
    }
  },
})

/** a @ b for 2D tensors, in plain form, with plain-form gradients (on the 'fast' strategy). */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (matmulStrategy() !== 'fast') return tf.matMul(a, b)
  ensureKernels()
  return tf.engine().runKernel(MATMUL, { a, b }, {}) as tf.Tensor2D
}

/**
 * Batched matmul for attention ([batch, m, k] x [batch, k, n]) with optional transposes
 * (transposeA: a is [batch, k, m]; transposeB: b is [batch, n, k]).
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  if (matmulStrategy() !== 'fast') return tf.matMul(a, b, transposeA, transposeB)
  if (a.shape[0] !== b.shape[0]) {
    throw new Error(`batchMatMul: batch sizes differ (${a.shape[0]} vs ${b.shape[0]}); broadcasting is not supported`)
  }
  const k1 = transposeA ? a.shape[1] : a.shape[2]
  const k2 = transposeB ? b.shape[2] : b.shape[1]
  if (k1 !== k2) {
    throw new Error(
      `batchMatMul: inner dimensions differ (${k1} vs ${k2}) for shapes [${a.shape}] and [${b.shape}] with transposeA=${transposeA}, transposeB=${transposeB}`,
    )
  }
  ensureKernels()
  return tf.engine().runKernel(BATCH_MATMUL, { a, b }, { transposeA, transposeB } as unknown as tf.NamedAttrMap) as tf.Tensor3D
}
