// Cross-entropy of a causal LM's tokens, per token (float32): logsumexp(logits) - logits[target],
// what torch.nn.functional.cross_entropy computes for each row before transformers sums or means.
//
// linearCrossEntropy takes the hidden states and the output layer's weight instead of logits and
// works through the rows in chunks: forward keeps no [tokens, vocab] tensor, backward recomputes
// each chunk's logits and turns them into softmax - onehot at once. At 8 x 512 labelled tokens and a
// 49k vocabulary the plain way holds ~800 MB of logits plus the softmax for backward; here a chunk
// is at most CHUNK_FLOATS floats. The gradient is registered per input (as ops/linear.ts), so a
// frozen lm_head costs no weight gradient work.
import * as tf from '@tensorflow/tfjs-core'
import { linear } from '../ops/linear.ts'
import { matmulStrategy, plainMatMul } from '../ops/matmul.ts'
import { transpose2d } from '../ops/transpose.ts'

/** Logits held at once, per chunk (32 MB). */
export const CHUNK_FLOATS = 1 << 23

const KERNEL = 'LorapipeLinearCrossEntropy'

/** Row ranges [start, end) of at most `chunkFloats` logits each. */
function chunks(rows: number, vocab: number, chunkFloats: number): Array<[number, number]> {
  const step = Math.max(1, Math.floor(chunkFloats / vocab))
  const out: Array<[number, number]> = []
  for (let s = 0; s < rows; s += step) out.push([s, Math.min(rows, s + step)])
  return out
}

/** logits[r, targets[r]] for each row r. */
function picked(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const [rows, vocab] = logits.shape
    const flat = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')), targets)
    return tf.gather(tf.reshape(logits, [rows * vocab]), flat) as tf.Tensor1D
  })
}

/** Per-token cross-entropy [T] from logits [T, V] and int32 targets [T] (taped ops: any logits). */
export function tokenCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.logSumExp(logits, -1), picked(logits, targets)) as tf.Tensor1D)
}

function slice(t: tf.Tensor, start: number, end: number): tf.Tensor {
  return t.rank === 1 ? tf.slice(t, [start], [end - start]) : tf.slice(t, [start, 0], [end - start, t.shape[1]!])
}

function forward(x: tf.Tensor2D, w: tf.Tensor2D, targets: tf.Tensor1D, chunkFloats: number): tf.Tensor1D {
  const parts = chunks(x.shape[0], w.shape[0], chunkFloats).map(([s, e]) =>
    tf.tidy(() => tokenCrossEntropy(linear(slice(x, s, e), w) as tf.Tensor2D, slice(targets, s, e) as tf.Tensor1D)),
  )
  if (parts.length === 1) return parts[0]!
  const out = tf.concat(parts) as tf.Tensor1D
  tf.dispose(parts)
  return out
}

/** d loss / d logits of a chunk: (softmax - onehot) * dy per row. */
function logitGrad(xc: tf.Tensor2D, w: tf.Tensor2D, tc: tf.Tensor1D, dyc: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const logits = linear(xc, w) as tf.Tensor2D
    // oneHot in int32 then cast: the wasm backend's OneHot writes int bits into a float32 output
    const p = tf.sub(tf.softmax(logits, -1), tf.cast(tf.oneHot(tc, w.shape[0]), 'float32'))
    return tf.mul(p, tf.reshape(dyc, [-1, 1])) as tf.Tensor2D
  })
}

function ensureKernel(): void {
  const backendName = tf.getBackend()
  if (tf.getKernel(KERNEL, backendName) !== undefined) return
  tf.registerKernel({
    kernelName: KERNEL,
    backendName,
    // Composes ops, untaped (kernel depth > 0); the gradient below is the one recorded.
    kernelFunc: ({ inputs, attrs }) => {
      const { x, w, targets } = inputs as { x: tf.Tensor2D; w: tf.Tensor2D; targets: tf.Tensor1D }
      return forward(x, w, targets, (attrs as unknown as { chunkFloats: number }).chunkFloats)
    },
  })
}

tf.registerGradient({
  kernelName: KERNEL,
  inputsToSave: ['x', 'w', 'targets'],
  gradFunc: (dy, saved, attrs) => {
    const [x, w, targets] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D]
    const d = dy as tf.Tensor1D
    const ranges = chunks(x.shape[0], w.shape[0], (attrs as unknown as { chunkFloats: number }).chunkFloats)
    const grad = (s: number, e: number) => logitGrad(slice(x, s, e) as tf.Tensor2D, w, slice(targets, s, e) as tf.Tensor1D, slice(d, s, e) as tf.Tensor1D)
    return {
      x: () => {
        const parts = ranges.map(([s, e]) => tf.tidy(() => tf.matMul(grad(s, e), w)))
        if (parts.length === 1) return parts[0]!
        const out = tf.concat(parts)
        tf.dispose(parts)
        return out
      },
      w: () => {
        let acc: tf.Tensor | null = null
        for (const [s, e] of ranges) {
          const part = tf.tidy(() => {
            const g = grad(s, e)
            const xc = slice(x, s, e) as tf.Tensor2D
            // dW = g^T x: on the 'fast' path the transpose is materialised and the product plain
            return matmulStrategy() === 'fast' ? plainMatMul(transpose2d(g), xc) : tf.matMul(g, xc, true, false)
          })
          if (acc === null) acc = part
          else {
            const next: tf.Tensor = tf.add(acc, part)
            tf.dispose([acc, part])
            acc = next
          }
        }
        return acc ?? tf.zerosLike(w)
      },
    }
  },
})

/**
 * Per-token cross-entropy [T] of the logits hidden @ weight^T (no bias) against int32 targets [T],
 * without materialising the logits of all rows at once. hidden [T, H], weight [V, H] (PyTorch layout).
 * `chunkFloats`: logits held at once (default CHUNK_FLOATS; at least one row).
 */
export function linearCrossEntropy(hidden: tf.Tensor2D, weight: tf.Tensor2D, targets: tf.Tensor1D, chunkFloats = CHUNK_FLOATS): tf.Tensor1D {
  if (hidden.shape[1] !== weight.shape[1]) {
    throw new Error(`linearCrossEntropy: hidden has ${hidden.shape[1]} features, weight [${weight.shape}] expects ${weight.shape[1]}`)
  }
  if (targets.shape[0] !== hidden.shape[0]) throw new Error(`linearCrossEntropy: ${targets.shape[0]} targets for ${hidden.shape[0]} rows`)
  if (targets.dtype !== 'int32') throw new Error(`linearCrossEntropy: targets must be int32, got ${targets.dtype}`)
  ensureKernel()
  return tf.engine().runKernel(KERNEL, { x: hidden, w: weight, targets }, { chunkFloats } as unknown as tf.NamedAttrMap) as tf.Tensor1D
}
