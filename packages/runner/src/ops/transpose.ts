// Materialised transposes for the matmul kernels. The wasm backend's only fast matmul is the
// plain, unbatched a[M,K] @ b[K,N] (XNNPACK); every transposed form falls back to a naive loop
// 10-30x slower. So we transpose explicitly (memory-bound) and multiply in plain form.
// Frozen weights are transposed once and cached: keyed on the tensor's dataId, so clones share
// the entry and XNNPACK's packed-weights cache (keyed on the same data) stays warm too.
import * as tf from '@tensorflow/tfjs-core'

type DataId = object

/** dataId of a frozen tensor -> its cached transpose (owned by the cache) */
const cache = new WeakMap<DataId, tf.Tensor2D>()
/** dataId of a cached transpose -> the tensor it was made from (so T(T(w)) is w itself) */
const origin = new WeakMap<DataId, tf.Tensor2D>()
// When a frozen weight's data is collected, free its cached transpose's backend memory.
const finalizer = new FinalizationRegistry<tf.Tensor>((t) => {
  if (!t.isDisposed) t.dispose()
})

/** True for tensors whose values cannot change under us: constants and non-trainable Variables. */
export function isFrozen(t: tf.Tensor): boolean {
  return !(t instanceof tf.Variable) || !t.trainable
}

/**
 * 2D transpose. The wasm kernel walks the output with a stride of `rows`; when that stride is a
 * multiple of 256 floats every read maps to the same cache set and it is 3-5x slower than
 * a two-pass blocked transpose ([768,3072]: 10 ms vs 3 ms), which we use then.
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [rows, cols] = x.shape
  if (tf.getBackend() === 'wasm' && rows % 256 === 0 && cols % 8 === 0 && rows * cols >= 1 << 16) {
    return tf.tidy(() => {
      const t = 8
      const a = tf.transpose(tf.reshape(x, [rows, cols / t, t]), [1, 0, 2]) // [cols/t, rows, t]
      return tf.reshape(tf.transpose(a, [0, 2, 1]), [cols, rows]) as tf.Tensor2D
    })
  }
  return tf.transpose(x)
}

function recordingGradients(): boolean {
  return (tf.engine() as unknown as { state: { activeTape: unknown[] | null } }).state.activeTape != null
}

/** trained Variable -> the transpose of its current value (replaced when the value changes) */
const variableCache = new WeakMap<tf.Variable, { id: DataId; t: tf.Tensor2D }>()

/**
 * x^T as a tensor the caller must not dispose. Frozen tensors are transposed once (cached). A
 * trained Variable outside a gradient tape (evaluation) keeps the transpose of its current value
 * until an update gives it new data, so evaluation batches reuse it and XNNPACK's packed copy
 * keyed on it; under a tape the transpose is fresh and freed by the caller's tf.tidy.
 * Gradients do not flow through it: call it from kernels and gradient functions.
 */
export function transposed(x: tf.Tensor2D): tf.Tensor2D {
  const id = x.dataId as DataId
  const back = origin.get(id)
  if (back && !back.isDisposed) return back
  if (!isFrozen(x)) {
    const v = x as tf.Variable
    const entry = variableCache.get(v)
    if (entry && entry.id === id && !entry.t.isDisposed) return entry.t
    if (entry) {
      if (!entry.t.isDisposed) entry.t.dispose()
      variableCache.delete(v)
    }
    // While training, the value changes every step: a transient transpose (the scope frees it),
    // so full fine-tuning does not hold a second copy of every weight.
    if (recordingGradients()) return transpose2d(x)
    const t = tf.keep(transpose2d(x))
    variableCache.set(v, { id, t })
    return t
  }
  const hit = cache.get(id)
  if (hit && !hit.isDisposed) return hit
  const t = tf.keep(transpose2d(x))
  cache.set(id, t)
  origin.set(t.dataId as DataId, x)
  finalizer.register(id, t, t)
  return t
}

/** Drops the cached transpose of `w` now (e.g. before disposing a model's weights). */
export function releaseTransposed(w: tf.Tensor): void {
  const v = w instanceof tf.Variable ? variableCache.get(w) : undefined
  if (v) {
    variableCache.delete(w as tf.Variable)
    if (!v.t.isDisposed) v.t.dispose()
  }
  const id = w.dataId as DataId
  const t = cache.get(id)
  if (!t) return
  cache.delete(id)
  finalizer.unregister(t)
  if (!t.isDisposed) t.dispose()
}
