// GELU's forward pass as one kernel on the wasm backend (gelu.wat): the tf-ops version in
// nn/activation.ts is ~30 elementwise kernels, each a pass over the FFN's [tokens, 3072]
// activation; this is one pass, with the same float32 operations in the same order.
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { wasmBase64, wasmBase64Unshared } from './gelu-wasm.ts'
import { memoryOffset, onBackendMemory, registerWasmKernel, type WasmBinaries } from './wasm-module.ts'

export const GELU_KERNEL = 'LorapipeGelu'

type GeluExport = (x: number, out: number, cdf2: number, n: number) => void
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

export function registerGeluKernel(backendName: string): void {
  registerWasmKernel(backendName, GELU_KERNEL, binaries, wasmGelu)
}

/** [gelu(x), 1 + erf(x / sqrt 2)] in one kernel, or null where the current backend has none. */
export function fusedGelu(x: tf.Tensor): [tf.Tensor, tf.Tensor] | null {
  if (x.dtype !== 'float32' || tf.getKernel(GELU_KERNEL, tf.getBackend()) === undefined) return null
  return tf.engine().runKernel(GELU_KERNEL, { x }) as unknown as [tf.Tensor, tf.Tensor]
}
