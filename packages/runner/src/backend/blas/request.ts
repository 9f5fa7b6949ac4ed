// Which BLAS a run asks for (`runtime.blas` or LORAPIPE_BLAS: auto, off, or a library file) and the
// library it gets, loaded once per process and request. Without TensorFlow.js, so that the
// preflight (`validate`, and `run` before it writes anything) loads a named library exactly as the
// run will and refuses the same ones; the wasm backend then takes the library already loaded.
import { runtimeSchema } from '@lorapipe/core/pipeline/sections/runtime.ts'
import { loadBlas, type BlasLibrary } from './library.ts'

export type BlasRequestSource = 'auto' | 'pipeline' | 'env'

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
  return { value: runtimeSchema.properties.blas.default, source: 'auto' }
}

/** The setting a request came from, as the user wrote it. */
export const blasSetting = (source: BlasRequestSource) => (source === 'env' ? 'LORAPIPE_BLAS' : 'runtime.blas')

export type BlasResolution =
  /** lib null: the wasm kernels, for `reason` */
  | { readonly ok: true; readonly lib: BlasLibrary | null; readonly source: BlasRequestSource; readonly reason: string }
  /** a library was named and cannot be used: `message` says why, `hint` how to fix it */
  | { readonly ok: false; readonly requested: string; readonly source: BlasRequestSource; readonly message: string; readonly hint: string }

let loaded: { key: string; lib: BlasLibrary } | undefined

/** The library the request gets (loaded once per process, request and thread count), or why none. */
export function resolveBlas(req: BlasRequest): BlasResolution {
  const { value, source } = blasRequest(req)
  const where = blasSetting(source)
  if (value.toLowerCase() === 'off') return { ok: true, lib: null, source, reason: `BLAS off by ${where}` }
  const path = value.toLowerCase() === 'auto' ? 'auto' : value
  const key = `${path}|${req.threads}`
  if (loaded?.key !== key) {
    const r = loadBlas({ path, threads: req.threads })
    if (!r.ok) {
      if (path !== 'auto') {
        return {
          ok: false,
          requested: value,
          source,
          message: `BLAS library '${value}' requested by ${where} could not be used: ${r.why}`,
          hint: `give the path of a library that has cblas_sgemm (e.g. /usr/lib/x86_64-linux-gnu/libopenblas.so.0), or set ${where} to auto or off`,
        }
      }
      // `auto` never fails: without a library the wasm kernels run.
      const hint = process.platform === 'linux' ? ' (install it with `apt-get install libopenblas0`)' : ''
      return { ok: true, lib: null, source, reason: `${r.why}${hint}` }
    }
    loaded = { key, lib: r.lib }
  }
  return { ok: true, lib: loaded.lib, source, reason: path === 'auto' ? 'found' : `requested by ${where}` }
}
