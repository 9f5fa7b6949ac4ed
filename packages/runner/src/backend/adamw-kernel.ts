// One AdamW update as one kernel on the wasm backend. Written with tf ops, an update makes eight
// temporaries the size of the parameter; for a full fine-tune the largest (the word embeddings,
// 94 MB) are allocated and freed around the other tensors, and the heap, which never shrinks,
// grew by ~350 MB over the first update. Here m and v (the optimizer's own state, which nothing
// else shares or caches) are updated where they are, and only the new weights are allocated: a
// new tensor, so caches keyed on the weights' data (transposes, XNNPACK's packed weights) see a
// new value.
// The loop is WebAssembly SIMD (adamw.wat) running on the backend's memory itself, which the
// threaded wasm backend shares as a WebAssembly.Memory; 4-6x faster than the same loop in
// JavaScript, which is the fallback on a backend without threads (its memory is not exposed).
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { wasmBase64 } from './adamw-wasm.ts'

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
 * (which may be `w`).
 */
export function adamwUpdateInto(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, s: AdamWStep): void {
  const { beta1, beta2, eps, stepSize, bc2Sqrt, decay } = s
  const c1 = 1 - beta1
  const c2 = 1 - beta2
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]!
    const mi = beta1 * m[i]! + c1 * gi
    const vi = beta2 * v[i]! + c2 * gi * gi
    m[i] = mi
    v[i] = vi
    out[i] = w[i]! * decay - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps))
  }
}

interface WasmInternals {
  wasm: { wasmMemory?: WebAssembly.Memory }
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
}
type AdamWExport = (w: number, g: number, m: number, v: number, out: number, n: number, b1: number, b2: number, eps: number, step: number, bc2: number, decay: number) => void

const instances = new WeakMap<WebAssembly.Memory, AdamWExport>()

/** The SIMD loop instantiated on the backend's memory, or undefined when it does not share it. */
function simdLoop(backend: BackendWasm): AdamWExport | undefined {
  const memory = (backend as unknown as WasmInternals).wasm.wasmMemory
  if (!(memory instanceof WebAssembly.Memory)) return undefined
  let f = instances.get(memory)
  if (!f) {
    const module = new WebAssembly.Module(Buffer.from(wasmBase64, 'base64'))
    f = new WebAssembly.Instance(module, { env: { memory } }).exports.adamw as AdamWExport
    instances.set(memory, f)
  }
  return f
}

const wasmAdamW: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, m, v } = inputs as { w: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo }
  const wasm = backend as BackendWasm
  const s = attrs as unknown as AdamWStep
  const out = wasm.makeOutput(w.shape, 'float32')
  const loop = simdLoop(wasm)
  if (loop) {
    const at = (t: tf.TensorInfo) => (wasm as unknown as WasmInternals).dataIdMap.get(t.dataId)!.memoryOffset
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
