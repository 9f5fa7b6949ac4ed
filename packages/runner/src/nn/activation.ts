// Activations by their Hugging Face config names. "gelu" is the exact erf form (torch's default).
import * as tf from '@tensorflow/tfjs-core'
import { fusedGelu, fusedGeluGrad } from '../backend/gelu-kernel.ts'

export type Activation = (x: tf.Tensor) => tf.Tensor

const SQRT1_2 = Math.SQRT1_2
const SQRT_2_PI = Math.sqrt(2 / Math.PI)
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI)

// erf as a rational function of float32 accuracy (Eigen's / XLA's fast erf: max error 4e-7 on
// inputs clamped to [-4, 4], beyond which erf is +-1 in float32). On wasm, tfjs' Erf and Exp are
// scalar single-threaded loops (~10 ms for a [778, 3072] activation) while multiply, add, divide,
// clamp and sigmoid run vectorised on XNNPACK's thread pool (~0.3 ms each), so the polynomial is
// several times faster there.
const ERF_NUM = [-1.60960333262415e-2, -2.95459980854025e-3, -7.34990630326855e-4, -5.69250639462346e-5, -2.10102402082508e-6, 2.77068142495902e-8, -2.72614225801306e-10]
const ERF_DEN = [-1.42647390514189e-2, -7.37332916720468e-3, -1.68282697438203e-3, -2.13374055278905e-4, -1.45660718464996e-5]

function polyErf(u: tf.Tensor): tf.Tensor {
  // Temporaries are freed as we go: a tidy would hold ~25 activation-sized tensors at once.
  const step = (t: tf.Tensor, f: (t: tf.Tensor) => tf.Tensor) => {
    const r = f(t)
    t.dispose()
    return r
  }
  const x = tf.clipByValue(u, -4, 4)
  const x2 = tf.square(x)
  let p = step(tf.mul(x2, ERF_NUM[6]!), (t) => tf.add(t, ERF_NUM[5]!))
  for (let i = 4; i >= 0; i--) p = step(step(p, (t) => tf.mul(x2, t)), (t) => tf.add(t, ERF_NUM[i]!))
  let q = step(tf.mul(x2, ERF_DEN[4]!), (t) => tf.add(t, ERF_DEN[3]!))
  for (let i = 2; i >= 0; i--) q = step(step(q, (t) => tf.mul(x2, t)), (t) => tf.add(t, ERF_DEN[i]!))
  x2.dispose()
  p = step(p, (t) => tf.mul(x, t))
  x.dispose()
  const r = tf.div(p, q)
  tf.dispose([p, q])
  return r
}

const vectorised = () => tf.getBackend() === 'wasm'

/** exp(-v) for v >= 0; on wasm as sigmoid(-v) / sigmoid(v) (XNNPACK's sigmoid, no Exp kernel). */
function expNeg(v: tf.Tensor): tf.Tensor {
  return vectorised() ? tf.div(tf.sigmoid(tf.neg(v)), tf.sigmoid(v)) : tf.exp(tf.neg(v))
}

/**
 * gelu(x) = x/2 (1 + erf(x / sqrt 2)), torch's default. Its gradient is written out:
 * gelu'(x) = (1 + erf(x / sqrt 2)) / 2 + x phi(x), phi the standard normal density; the taped
 * version kept five activations of the FFN's width per layer and ran Erf's Exp-based gradient.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    // On wasm: one kernel (backend/gelu-kernel.ts), the same arithmetic as polyErf's.
    const fused = fusedGelu(xx)
    const cdf2 = fused ? fused[1] : tf.tidy(() => {
      const u = tf.mul(xx, SQRT1_2)
      return tf.add(vectorised() ? polyErf(u) : tf.erf(u), 1)
    })
    save([xx, cdf2])
    return {
      value: fused ? fused[0] : tf.tidy(() => tf.mul(tf.mul(xx, 0.5), cdf2)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sc] = saved as [tf.Tensor, tf.Tensor]
        const fusedGrad = fusedGeluGrad(dy, sx, sc)
        if (fusedGrad) return fusedGrad
        return tf.tidy(() => {
          const pdf = tf.mul(expNeg(tf.mul(tf.square(sx), 0.5)), INV_SQRT_2PI)
          return tf.mul(dy, tf.add(tf.mul(sc, 0.5), tf.mul(sx, pdf)))
        })
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x)
}

/** gelu_new / gelu_pytorch_tanh: the tanh approximation. */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_PI)
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1))
  })
}

export const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  relu: (x) => tf.relu(x),
  tanh: (x) => tf.tanh(x),
}
