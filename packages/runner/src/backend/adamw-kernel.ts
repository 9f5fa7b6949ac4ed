// One AdamW update as one kernel on the wasm backend. Written with tf ops, an update makes eight
// temporaries the size of the parameter; for a full fine-tune the largest (the word embeddings,
// 94 MB) are allocated and freed around the other tensors, and the heap, which never shrinks,
// grew by ~350 MB over the first update. Here m and v (the optimizer's own state, which nothing
// else shares or caches) are updated where they are, and only the new weights are allocated: a
// new tensor, so caches keyed on the weights' data (transposes, XNNPACK's packed weights) see a
// new value.
// The loop is WebAssembly SIMD (adamw.wat) running on the backend's memory itself (shared by the
// threaded backend, exported by the other), 4-6x faster than the same loop in JavaScript. Its
// float32 arithmetic does not depend on the thread count, so a trial run with one thread and
// its best.yaml rerun with two give the same numbers; the JavaScript fallback rounds every
// operation to float32 (Math.fround) for the same reason.
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { wasmBase64, wasmBase64Unshared } from './adamw-wasm.ts'
import { memoryOffset, onBackendMemory, type WasmBinaries } from './wasm-module.ts'

export const ADAMW_KERNEL = 'LorapipeAdamW'

export interface AdamWStep {
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  /** lr / (1 - beta1^t) */
  readonly stepSize: number
  /** sqrt(1 - beta2^t) */
  readonly bc2Sqrt: number
  /** 1 - lr * weight_decay (1 without decay) */
  readonly decay: number
}

/**
 * torch.optim.AdamW's update, element by element: m and v in place, the new weights into `out`
 * (which may be `w`). Every operation rounded to float32 as adamw.wat's are, so both give the
 * same bits.
 */
export function adamwUpdateInto(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, s: AdamWStep): void {
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

type AdamWExport = (w: number, g: number, m: number, v: number, out: number, n: number, b1: number, b2: number, eps: number, step: number, bc2: number, decay: number) => void

const binaries: WasmBinaries = { shared: wasmBase64, unshared: wasmBase64Unshared }

const wasmAdamW: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, m, v } = inputs as { w: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo }
  const wasm = backend as BackendWasm
  const s = attrs as unknown as AdamWStep
  const out = wasm.makeOutput(w.shape, 'float32')
  const loop = onBackendMemory(wasm, binaries)?.adamw as AdamWExport | undefined
  if (loop) {
    const at = (t: tf.TensorInfo) => memoryOffset(wasm, t)
    loop(at(w), at(g), at(m), at(v), at(out), tf.util.sizeFromShape(w.shape), s.beta1, s.beta2, s.eps, s.stepSize, s.bc2Sqrt, s.decay)
    return out
  }
  // Views after makeOutput: allocating may grow the heap and detach older views.
  const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array
  adamwUpdateInto(view(w), view(g), view(m), view(v), view(out), s)
  return out
}

export function registerAdamWKernel(backendName: string): void {
  if (backendName === 'wasm' && tf.getKernel(ADAMW_KERNEL, 'wasm') === undefined) {
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: 'wasm', kernelFunc: wasmAdamW })
  }
}

/**
 * The new weights after one update, with m and v updated in place; null where the current backend
 * has no such kernel (the caller then composes the update from tf ops). All four float32 tensors
 * of one shape; m and v must not share their data with any other tensor.
 */
export function fusedAdamW(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamWStep): tf.Tensor | null {
  if (tf.getKernel(ADAMW_KERNEL, tf.getBackend()) === undefined) return null
  if (w.dtype !== 'float32' || g.dtype !== 'float32') return null
  return tf.engine().runKernel(ADAMW_KERNEL, { w, g, m, v }, step as unknown as tf.NamedAttrMap) as tf.Tensor
}
