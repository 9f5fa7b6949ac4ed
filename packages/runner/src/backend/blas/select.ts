// Whether the wasm backend's matrix products run on the system BLAS: `runtime.blas` in the
// pipeline or LORAPIPE_BLAS (the operator's override, as LORAPIPE_BACKEND) say `auto` (default:
// use one if found), `off`, or a library file. The answer always says which path and why.
//
// Threads: the BLAS gets as many threads as the wasm pool (the cores, or runtime.threads /
// LORAPIPE_THREADS). The two pools take turns rather than share: sgemm runs on the calling (main)
// thread plus its own workers while the wasm workers wait, and the element-wise kernels run on the
// wasm pool while the BLAS workers sleep (idle BLAS threads are set to sleep, not spin: see
// library.ts). Splitting the cores between them would leave half the machine idle in each phase.
import { activeBlas, useBlasKernels } from './kernels.ts'
import type { BlasKind, BlasLibrary } from './library.ts'
import { resolveBlas, type BlasRequest, type BlasRequestSource } from './request.ts'

export { blasRequest, type BlasRequest, type BlasRequestSource } from './request.ts'

export interface BlasInfo {
  readonly kind: BlasKind
  readonly label: string
  readonly path: string
  readonly threads: number | null
}

export interface BlasChoice {
  /** the library the matrix products run on, or null: the wasm kernels */
  readonly blas: BlasInfo | null
  readonly source: BlasRequestSource
  /** one line: which path and why */
  readonly reason: string
}

export type BlasOutcome = { readonly ok: true; readonly choice: BlasChoice } | { readonly ok: false; readonly requested: string; readonly source: BlasRequestSource; readonly message: string }

function info(lib: BlasLibrary): BlasInfo {
  return { kind: lib.kind, label: lib.label, path: lib.path, threads: lib.threads }
}

/**
 * For the wasm backend: loads the BLAS asked for (once per process and request: see request.ts)
 * and puts its kernels in place, or leaves the wasm kernels and says why. An explicit library that
 * cannot load is an error (ok: false); `auto` without a library is not.
 */
export function chooseBlas(req: BlasRequest): BlasOutcome {
  const r = resolveBlas(req)
  if (!r.ok) {
    useBlasKernels(null)
    return { ok: false, requested: r.requested, source: r.source, message: `${r.message}; ${r.hint}` }
  }
  if (!r.lib) {
    useBlasKernels(null)
    return { ok: true, choice: { blas: null, source: r.source, reason: r.reason } }
  }
  if (activeBlas() !== r.lib) useBlasKernels(r.lib)
  return { ok: true, choice: { blas: info(r.lib), source: r.source, reason: r.reason } }
}

/** Puts the wasm kernels back (another backend is chosen, or BLAS is turned off). */
export function releaseBlas(): void {
  if (activeBlas()) useBlasKernels(null)
}

/** "OpenBLAS 0.3.21 (libopenblas.so.0, 2 threads)" */
export function describeBlas(b: BlasInfo): string {
  const name = b.kind === 'openblas' ? b.label.split(' ').slice(0, 2).join(' ') : b.label
  return `${name} (${b.path}${b.threads !== null ? `, ${b.threads} thread${b.threads === 1 ? '' : 's'}` : ''})`
}
