// LayerNorm's forward and backward passes as one kernel each on the wasm backend (layer-norm.wat):
// the tf-ops version in nn/layer-norm.ts is 9 kernels forward and 12 backward, each a pass over
// the [tokens, hidden] activation and a dispatch from JavaScript, 13 layer norms per DistilBERT
// forward. Same formulas; the sums are added in another order, so results differ from the tf-ops
// version in the last bits (not with the thread count).
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { wasmBase64, wasmBase64Unshared } from './layer-norm-wasm.ts'
import { canRunWasmKernel, memoryOffset, onBackendMemory, registerWasmKernel, type WasmBinaries } from './wasm-module.ts'

export const LAYER_NORM_KERNEL = 'LorapipeLayerNorm'
export const LAYER_NORM_GRAD_KERNEL = 'LorapipeLayerNormGrad'

type Forward = (x: number, w: number, b: number, y: number, xhat: number, rstd: number, rows: number, d: number, eps: number) => void
type Backward = (dy: number, xhat: number, rstd: number, w: number, dx: number, dw: number, db: number, rows: number, d: number) => void
const binaries: WasmBinaries = { shared: wasmBase64, unshared: wasmBase64Unshared }

const rowShape = (shape: readonly number[]) => [...shape.slice(0, -1), 1]
const lastDim = (shape: readonly number[]) => shape[shape.length - 1]!

const forward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, weight, bias } = inputs as { x: tf.TensorInfo; weight: tf.TensorInfo; bias: tf.TensorInfo }
  const wasm = backend as BackendWasm
  const run = onBackendMemory(wasm, binaries)!.layernorm as Forward
  const y = wasm.makeOutput(x.shape, 'float32')
  const xhat = wasm.makeOutput(x.shape, 'float32')
  const rstd = wasm.makeOutput(rowShape(x.shape), 'float32')
  const d = lastDim(x.shape)
  const at = (t: tf.TensorInfo) => memoryOffset(wasm, t)
  run(at(x), at(weight), at(bias), at(y), at(xhat), at(rstd), tf.util.sizeFromShape(x.shape) / d, d, (attrs as { eps: number }).eps)
  return [y, xhat, rstd]
}

const backward: tf.KernelFunc = ({ inputs, backend }) => {
  const { dy, xhat, rstd, weight } = inputs as { dy: tf.TensorInfo; xhat: tf.TensorInfo; rstd: tf.TensorInfo; weight: tf.TensorInfo }
  const wasm = backend as BackendWasm
  const run = onBackendMemory(wasm, binaries)!.layernorm_grad as Backward
  const dx = wasm.makeOutput(dy.shape, 'float32')
  const dw = wasm.makeOutput(weight.shape, 'float32')
  const db = wasm.makeOutput(weight.shape, 'float32')
  const d = lastDim(dy.shape)
  const at = (t: tf.TensorInfo) => memoryOffset(wasm, t)
  run(at(dy), at(xhat), at(rstd), at(weight), at(dx), at(dw), at(db), tf.util.sizeFromShape(dy.shape) / d, d)
  return [dx, dw, db]
}

export function registerLayerNormKernels(backendName: string): void {
  registerWasmKernel(backendName, LAYER_NORM_KERNEL, binaries, forward)
  registerWasmKernel(backendName, LAYER_NORM_GRAD_KERNEL, binaries, backward)
}

/** [y, xhat, rstd] of a layer norm over the last axis in one kernel, or null where the current backend has none. */
export function fusedLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (!canRunWasmKernel(LAYER_NORM_KERNEL, x, weight, bias) || weight.size !== lastDim(x.shape) || bias.size !== weight.size) return null
  return tf.engine().runKernel(LAYER_NORM_KERNEL, { x, weight, bias }, { eps }) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor]
}

/** [dx, dweight, dbias] from the forward's xhat and rstd in one kernel, or null where the current backend has none. */
export function fusedLayerNormGrad(dy: tf.Tensor, xhat: tf.Tensor, rstd: tf.Tensor, weight: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (!canRunWasmKernel(LAYER_NORM_GRAD_KERNEL, dy, xhat, rstd, weight) || weight.size !== lastDim(dy.shape)) return null
  return tf.engine().runKernel(LAYER_NORM_GRAD_KERNEL, { dy, xhat, rstd, weight }) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor]
}
