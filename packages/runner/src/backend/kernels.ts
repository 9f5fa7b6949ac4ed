// Kernels that training needs but a backend lacks. tfjs-backend-wasm 4.22 has no
// UnsortedSegmentSum, which is the gradient of gather: without it, full fine-tuning cannot train
// the embeddings. We register a JavaScript implementation that works on the backend's own memory
// (the wasm heap), so no data leaves the backend.
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'

type Typed = Float32Array | Int32Array | Uint8Array

/**
 * TF semantics: out[s, ...] = sum of x[i, ...] over i with segmentIds[i] == s; ids outside
 * [0, numSegments) are dropped. segmentIds' shape is a prefix of x's shape.
 */
export function unsortedSegmentSumInto(
  x: Typed,
  ids: ArrayLike<number>,
  numSegments: number,
  inner: number,
  out: Typed,
): void {
  out.fill(0)
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!
    if (s < 0 || s >= numSegments) continue
    const src = i * inner
    const dst = s * inner
    for (let j = 0; j < inner; j++) out[dst + j] = out[dst + j]! + x[src + j]!
  }
}

function segmentShapes(x: tf.TensorInfo, segmentIds: tf.TensorInfo, numSegments: number) {
  const r = segmentIds.shape.length
  for (let i = 0; i < r; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(
        `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
      )
    }
  }
  const innerShape = x.shape.slice(r)
  const inner = innerShape.reduce((a, b) => a * b, 1)
  return { outShape: [numSegments, ...innerShape], inner }
}

const wasmUnsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo }
  const { numSegments } = attrs as unknown as { numSegments: number }
  const wasm = backend as BackendWasm
  const { outShape, inner } = segmentShapes(x, segmentIds, numSegments)
  const out = wasm.makeOutput(outShape, x.dtype)
  // Views after makeOutput: allocating may grow the heap and detach older views.
  const xv = wasm.typedArrayFromHeap(x) as Typed
  const idv = wasm.typedArrayFromHeap(segmentIds) as Int32Array
  const ov = wasm.typedArrayFromHeap(out) as Typed
  unsortedSegmentSumInto(xv, idv, numSegments, inner, ov)
  return out
}

const registered = new Set<string>()

/** Registers, once per backend, the kernels it lacks. Called by selectBackend. */
export function registerMissingKernels(backendName: string): void {
  if (registered.has(backendName)) return
  registered.add(backendName)
  if (backendName === 'wasm' && tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: wasmUnsortedSegmentSum })
  }
}
