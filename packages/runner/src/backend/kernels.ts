// Kernels that training needs but a backend lacks, or has in a form too costly to train with.
// - tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which is the gradient of gather: without it,
//   full fine-tuning cannot train the embeddings. We register a JavaScript implementation that
//   works on the backend's own memory (the wasm heap), so no data leaves the backend.
// - Its Identity copies the data. tfjs-core runs Identity (tf.clone) for every tensor a gradient
//   saves, so each activation kept for backward was stored twice. Tensors are immutable, so we
//   share the data and count references instead, as its own Reshape kernel (and the cpu backend's
//   Identity) does.
// - Its GatherV2 walks every element with strided index arithmetic (~55 ns per float: 9 ms to
//   take 206 rows of 768). Taking whole rows (axis 0, the embeddings and the unpadded-token
//   layout) is a row copy; we do that and hand every other gather to the original kernel.
import * as tf from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { registerAdamWKernel } from './adamw-kernel.ts'
import { registerGeluKernel } from './gelu-kernel.ts'
import { registerLayerNormKernels } from './layer-norm-kernel.ts'

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
  // The first row landing in a segment is copied (a memcpy), later ones added; untouched
  // segments are zeroed. Most uses place distinct rows (unpadded tokens, embedding rows).
  const seen = new Uint8Array(numSegments)
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!
    if (s < 0 || s >= numSegments) continue
    const src = i * inner
    const dst = s * inner
    if (seen[s] === 0) {
      seen[s] = 1
      out.set(x.subarray(src, src + inner), dst)
    } else {
      for (let j = 0; j < inner; j++) out[dst + j] = out[dst + j]! + x[src + j]!
    }
  }
  let s = 0
  while (s < numSegments) {
    if (seen[s] !== 0) {
      s++
      continue
    }
    let e = s + 1
    while (e < numSegments && seen[e] === 0) e++
    out.fill(0, s * inner, e * inner)
    s = e
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

const wasmIdentity: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo }
  ;(backend as BackendWasm).incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

function wasmGatherRows(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo }
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number }
    const parsedAxis = axis < 0 ? axis + x.shape.length : axis
    if (parsedAxis !== 0 || batchDims !== 0 || x.shape.length === 0 || x.dtype === 'string' || indices.dtype !== 'int32') {
      return fallback(args)
    }
    const wasm = args.backend as BackendWasm
    const rows = x.shape[0]!
    const inner = x.shape.slice(1).reduce((a, b) => a * b, 1)
    const out = wasm.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype)
    const xv = wasm.typedArrayFromHeap(x) as Typed
    const idv = wasm.typedArrayFromHeap(indices) as Int32Array
    const ov = wasm.typedArrayFromHeap(out) as Typed
    for (let i = 0; i < idv.length; i++) {
      const r = idv[i]!
      if (r < 0 || r >= rows) {
        wasm.disposeData(out.dataId)
        throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`)
      }
      ov.set(xv.subarray(r * inner, (r + 1) * inner), i * inner)
    }
    return out
  }
}

const registered = new Set<string>()

/**
 * Registers, once per backend, the kernels it lacks (or replaces). Called by selectBackend, and by
 * the models before their first forward pass (for a backend set up with plain tf.setBackend).
 */
export function registerMissingKernels(backendName: string): void {
  if (registered.has(backendName)) return
  registered.add(backendName)
  registerAdamWKernel(backendName)
  registerGeluKernel(backendName)
  registerLayerNormKernels(backendName)
  if (backendName === 'wasm' && tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: wasmUnsortedSegmentSum })
  }
  if (backendName === 'wasm') {
    const gather = tf.getKernel('GatherV2', 'wasm')
    if (gather) {
      tf.unregisterKernel('GatherV2', 'wasm')
      tf.registerKernel({ kernelName: 'GatherV2', backendName: 'wasm', kernelFunc: wasmGatherRows(gather.kernelFunc) })
    }
    tf.unregisterKernel('Identity', 'wasm')
    tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: wasmIdentity })
  }
}
