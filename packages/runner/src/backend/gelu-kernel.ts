// GELU's forward pass as one kernel on the wasm backend (gelu.wat): the tf-ops version in
// nn/activation.ts is ~30 elementwise kernels, each a pass over the FFN's [tokens, 3072]
// activation; this is one pass, with the same float32 operations in the same order. Its gradient
// is one kernel too (7 tf ops otherwise), with exp computed in the kernel (the tf-ops version
// takes it from two sigmoids), so it differs from that version in the last bits.
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { wasmBase64, wasmBase64Unshared } from './gelu-wasm.ts'
import { canRunWasmKernel, memoryOffset, onBackendMemory, registerWasmKernel, type WasmBinaries } from './wasm-module.ts'

export const GELU_KERNEL = 'LorapipeGelu'
export const GELU_GRAD_KERNEL = 'LorapipeGeluGrad'

type GeluExport = (x: number, out: number, cdf2: number, n: number) => void
type GeluGradExport = (dy: number, x: number, cdf2: number, dx: number, n: number) => void
const binaries: WasmBinaries = { shared: wasmBase64, unshared: wasmBase64Unshared }

const wasmGelu: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo }
  const wasm = backend as BackendWasm
  const gelu = onBackendMemory(wasm, binaries)!.gelu as GeluExport
  const out = wasm.makeOutput(x.shape, 'float32')
  const cdf2 = wasm.makeOutput(x.shape, 'float32')
  gelu(memoryOffset(wasm, x), memoryOffset(wasm, out), memoryOffset(wasm, cdf2), tf.util.sizeFromShape(x.shape))
  return [out, cdf2]
}

const wasmGeluGrad: tf.KernelFunc = ({ inputs, backend }) => {
  const { dy, x, cdf2 } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; cdf2: tf.TensorInfo }
  const wasm = backend as BackendWasm
  const grad = onBackendMemory(wasm, binaries)!.gelu_grad as GeluGradExport
  const dx = wasm.makeOutput(x.shape, 'float32')
  const at = (t: tf.TensorInfo) => memoryOffset(wasm, t)
  grad(at(dy), at(x), at(cdf2), at(dx), tf.util.sizeFromShape(x.shape))
  return dx
}

export function registerGeluKernel(backendName: string): void {
  registerWasmKernel(backendName, GELU_KERNEL, binaries, wasmGelu)
  registerWasmKernel(backendName, GELU_GRAD_KERNEL, binaries, wasmGeluGrad)
}

/** [gelu(x), 1 + erf(x / sqrt 2)] in one kernel, or null where the current backend has none. */
export function fusedGelu(x: tf.Tensor): [tf.Tensor, tf.Tensor] | null {
  if (!canRunWasmKernel(GELU_KERNEL, x)) return null
  return tf.engine().runKernel(GELU_KERNEL, { x }) as unknown as [tf.Tensor, tf.Tensor]
}

/** dy (cdf2 / 2 + x phi(x)) in one kernel, from the forward's x and cdf2; null where the current backend has none. */
export function fusedGeluGrad(dy: tf.Tensor, x: tf.Tensor, cdf2: tf.Tensor): tf.Tensor | null {
  if (!canRunWasmKernel(GELU_GRAD_KERNEL, dy, x, cdf2) || dy.size !== x.size || cdf2.size !== x.size) return null
  return tf.engine().runKernel(GELU_GRAD_KERNEL, { dy, x, cdf2 }) as tf.Tensor
}
