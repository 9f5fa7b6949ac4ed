// Our hand-written WebAssembly kernels (backend/*.wat, assembled by `npm run gen`) run on the wasm
// backend's own memory, so they read and write tensors where they are. The threaded build shares
// its memory (wasmMemory); the other exports it (asm.memory): each .wat is assembled for both.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import * as tf from '@tensorflow/tfjs-core'

interface WasmInternals {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: unknown } }
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
}

export interface WasmBinaries {
  /** base64 of the module importing a shared memory */
  readonly shared: string
  /** base64 of the module importing a plain memory */
  readonly unshared: string
}

const instances = new WeakMap<WebAssembly.Memory, Map<WasmBinaries, WebAssembly.Exports>>()

/** The module's exports, instantiated (once) on the backend's memory; undefined when that is out of reach. */
export function onBackendMemory(backend: BackendWasm, binaries: WasmBinaries): WebAssembly.Exports | undefined {
  const w = (backend as unknown as WasmInternals).wasm
  const memory = w.wasmMemory ?? w.asm?.memory
  if (!(memory instanceof WebAssembly.Memory)) return undefined
  let byModule = instances.get(memory)
  if (!byModule) instances.set(memory, (byModule = new Map()))
  let exports = byModule.get(binaries)
  if (!exports) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
    const module = new WebAssembly.Module(Buffer.from(shared ? binaries.shared : binaries.unshared, 'base64'))
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports
    byModule.set(binaries, exports)
  }
  return exports
}

/** A tensor's byte offset in the backend's memory. */
export function memoryOffset(backend: BackendWasm, t: tf.TensorInfo): number {
  const d = (backend as unknown as WasmInternals).dataIdMap.get(t.dataId)
  if (!d) throw new Error('tensor data is not on the wasm backend')
  return d.memoryOffset
}

const registered = new Set<string>()
/** The names of the kernels registered by registerWasmKernel (for the benchmark's profile). */
export const wasmKernelsOfOurs: ReadonlySet<string> = registered

/**
 * Registers a kernel of ours on the wasm backend, once, and only where its module can be
 * instantiated on the backend's memory: elsewhere the kernel does not exist and its caller
 * composes the same computation from tf ops.
 */
export function registerWasmKernel(backendName: string, kernelName: string, binaries: WasmBinaries, kernelFunc: tf.KernelFunc): void {
  if (backendName !== 'wasm' || tf.getKernel(kernelName, 'wasm') !== undefined) return
  const backend = tf.findBackend('wasm') as BackendWasm | null
  if (!backend || !onBackendMemory(backend, binaries)) return
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc })
  registered.add(kernelName)
}

/** Whether a kernel of ours can take these tensors: registered on the current backend, and all of them float32 and not empty. */
export function canRunWasmKernel(kernelName: string, ...tensors: tf.Tensor[]): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined && tensors.every((t) => t.dtype === 'float32' && t.size > 0)
}
