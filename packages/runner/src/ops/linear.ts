// The linear layer every model uses: y = x @ W^T + b with W in PyTorch's [out, in] layout.
// CONTRACT (other modules rely on it): the signature below stays.
//
// On the 'fast' matmul strategy (the wasm default, see matmul.ts) every product is the backend's
// fast plain form, in forward and backward:
//   forward  y  = x @ W^T + b   W^T materialised: cached once for a frozen W (constant tensor or
//                               non-trainable Variable), recomputed each call for a trainable one
//   backward dx = dy @ W        plain, W as stored
//            dW = dy^T @ x      plain after one explicit transpose of dy
//            db = sum(dy, 0)
// On the 'blas' strategy (the system BLAS behind wasm) the transposes are sgemm flags instead:
//   forward  y  = x @ W^T + b   one sgemm (transB) on W as stored, bias added in the same product
//   backward dx = dy @ W,  dW = dy^T @ x (transA),  db = sum(dy, 0)
// so no weight is ever held twice.
// The gradient is registered per input, so tfjs only computes the ones it needs: a frozen W costs
// no dW work, and dx is skipped where nothing upstream is trained.
import * as tf from '@tensorflow/tfjs-core'
import { matmulStrategy, plainMatMul } from './matmul.ts'
import { transpose2d, transposed } from './transpose.ts'

const LINEAR = 'LorapipeLinear'

function forward(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined): tf.Tensor2D {
  if (matmulStrategy() === 'blas') {
    return (b ? tf.fused.matMul({ a: x, b: w, transposeB: true, bias: b }) : tf.matMul(x, w, false, true)) as tf.Tensor2D
  }
  return tf.tidy(() => {
    const wt = transposed(w)
    // fused bias: one pass less, and XNNPACK caches the operator on (W^T, b) for frozen layers
    return b ? (tf.fused.matMul({ a: x, b: wt, bias: b }) as tf.Tensor2D) : plainMatMul(x, wt)
  })
}

function ensureKernel(): void {
  const backendName = tf.getBackend()
  if (tf.getKernel(LINEAR, backendName) !== undefined) return
  tf.registerKernel({
    kernelName: LINEAR,
    backendName,
    kernelFunc: ({ inputs }) => {
      const { x, w, b } = inputs as { x: tf.Tensor2D; w: tf.Tensor2D; b?: tf.Tensor1D }
      return forward(x, w, b)
    },
  })
}

tf.registerGradient({
  kernelName: LINEAR,
  inputsToSave: ['x', 'w'],
  gradFunc: (dy, saved) => {
    const [x, w] = saved as [tf.Tensor2D, tf.Tensor2D]
    const d = dy as tf.Tensor2D
    if (matmulStrategy() === 'blas') {
      return { x: () => tf.matMul(d, w), w: () => tf.matMul(d, x, true, false), b: () => tf.sum(d, 0) }
    }
    return {
      x: () => plainMatMul(d, w),
      w: () => tf.tidy(() => plainMatMul(transpose2d(d), x)),
      b: () => tf.sum(d, 0),
    }
  },
})

/**
 * y = x @ w^T + b.
 * @param x [..., in]
 * @param w [out, in] (a constant for frozen weights, a tf.Variable when trained)
 * @param b [out] or undefined
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D | null): tf.Tensor {
  const inF = w.shape[1]
  const outF = w.shape[0]
  if (x.shape[x.rank - 1] !== inF) {
    throw new Error(`linear: input has ${x.shape[x.rank - 1]} features, weight [${w.shape}] expects ${inF}`)
  }
  if (b && (b.rank !== 1 || b.shape[0] !== outF)) {
    throw new Error(`linear: bias shape [${b.shape}] does not match weight [${w.shape}] (expects [${outF}])`)
  }
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1)
    const x2 = tf.reshape(x, [-1, inF]) as tf.Tensor2D
    let y: tf.Tensor
    if (matmulStrategy() === 'tfjs') {
      y = tf.matMul(x2, w, false, true)
      if (b) y = tf.add(y, b)
    } else {
      ensureKernel()
      const inputs: tf.NamedTensorMap = b ? { x: x2, w, b } : { x: x2, w }
      y = tf.engine().runKernel(LINEAR, inputs, {}) as tf.Tensor
    }
    return tf.reshape(y, [...lead, outF])
  })
}
