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
// its best.yaml rerun with two give the same numbers.
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { wasmBase64, wasmBase64Unshared } from './adamw-wasm.ts'
import { canRunWasmKernel, memoryOffset, onBackendMemory, registerWasmKernel, type WasmBinaries } from './wasm-module.ts'

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

type AdamWExport = (w: number, g: number, m: number, v: number, out: number, n: number, b1: number, b2: number, eps: number, step: number, bc2: number, decay: number) => void

const binaries: WasmBinaries = { shared: wasmBase64, unshared: wasmBase64Unshared }

const wasmAdamW: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, m, v } = inputs as { w: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo }
  const wasm = backend as BackendWasm
  const s = attrs as unknown as AdamWStep
  const adamw = onBackendMemory(wasm, binaries)!.adamw as AdamWExport
  const out = wasm.makeOutput(w.shape, 'float32')
  const at = (t: tf.TensorInfo) => memoryOffset(wasm, t)
  adamw(at(w), at(g), at(m), at(v), at(out), tf.util.sizeFromShape(w.shape), s.beta1, s.beta2, s.eps, s.stepSize, s.bc2Sqrt, s.decay)
  return out
}

export function registerAdamWKernel(backendName: string): void {
  registerWasmKernel(backendName, ADAMW_KERNEL, binaries, wasmAdamW)
}

/**
 * The new weights after one update, with m and v updated in place; null where the current backend
 * has no such kernel (the caller then composes the update from tf ops). All four float32 tensors
 * of one shape; m and v must not share their data with any other tensor.
 */
export function fusedAdamW(w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamWStep): tf.Tensor | null {
  if (!canRunWasmKernel(ADAMW_KERNEL, w, g)) return null
  return tf.engine().runKernel(ADAMW_KERNEL, { w, g, m, v }, step as unknown as tf.NamedAttrMap) as tf.Tensor
}
