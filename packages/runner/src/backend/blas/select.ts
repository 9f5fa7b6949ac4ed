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
import { loadBlas, type BlasKind, type BlasLibrary } from './library.ts'

export type BlasRequestSource = 'auto' | 'pipeline' | 'env'

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

export interface BlasRequest {
  /** runtime.blas from the pipeline */
  readonly blas?: string | undefined
  readonly env: Record<string, string | undefined>
  /** threads for one product (the wasm pool's size) */
  readonly threads: number
}

/** The request and where it came from; the environment beats the pipeline. */
export function blasRequest(req: Pick<BlasRequest, 'blas' | 'env'>): { value: string; source: BlasRequestSource } {
  const fromEnv = req.env.LORAPIPE_BLAS?.trim()
  const fromPipeline = req.blas?.trim()
  if (fromEnv) return { value: fromEnv, source: 'env' }
  if (fromPipeline) return { value: fromPipeline, source: 'pipeline' }
  return { value: 'auto', source: 'auto' }
}

let loaded: { key: string; lib: BlasLibrary } | undefined

function info(lib: BlasLibrary): BlasInfo {
  return { kind: lib.kind, label: lib.label, path: lib.path, threads: lib.threads }
}

/**
 * For the wasm backend: loads the BLAS asked for (once per process and request) and puts its
 * kernels in place, or leaves the wasm kernels and says why. An explicit library that cannot load
 * is an error (ok: false); `auto` without a library is not.
 */
export function chooseBlas(req: BlasRequest): BlasOutcome {
  const { value, source } = blasRequest(req)
  const where = source === 'env' ? 'LORAPIPE_BLAS' : 'runtime.blas'
  if (value.toLowerCase() === 'off') {
    useBlasKernels(null)
    return { ok: true, choice: { blas: null, source, reason: `BLAS off by ${where}` } }
  }
  const path = value.toLowerCase() === 'auto' ? 'auto' : value
  const key = `${path}|${req.threads}`
  if (loaded?.key !== key) {
    const r = loadBlas({ path, threads: req.threads })
    if (!r.ok) {
      useBlasKernels(null)
      if (path !== 'auto') {
        return {
          ok: false,
          requested: value,
          source,
          message: `BLAS library '${value}' requested by ${where} could not be used: ${r.why}; give the path of a library that has cblas_sgemm (e.g. /usr/lib/x86_64-linux-gnu/libopenblas.so.0), or set ${where} to auto or off`,
        }
      }
      const hint = process.platform === 'linux' ? ' (install it with `apt-get install libopenblas0`)' : ''
      return { ok: true, choice: { blas: null, source, reason: `${r.why}${hint}` } }
    }
    loaded = { key, lib: r.lib }
  }
  if (activeBlas() !== loaded.lib) useBlasKernels(loaded.lib)
  return { ok: true, choice: { blas: info(loaded.lib), source, reason: path === 'auto' ? 'found' : `requested by ${where}` } }
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
