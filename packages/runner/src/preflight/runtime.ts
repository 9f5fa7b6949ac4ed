// The backend and BLAS library a run asks for, checked once per pipeline before anything is
// written (when a stage starts a backend): an unknown backend or a native one not installed, a
// named BLAS library that does not load. Without TensorFlow.js, so that `validate` stays fast.
import { machineThreads } from '@lorapipe/core/os/threads.ts'
import { blasRequest, resolveBlas } from '../backend/blas/request.ts'
import { backendProblem, backendRequest } from '../backend/request.ts'

/** A problem with the backend or BLAS asked for: the pipeline key, or the environment variable, it came from. */
export interface RuntimeProblem {
  /** `runtime.blas`, `runtime.backend`, `LORAPIPE_BLAS` or `LORAPIPE_BACKEND` */
  readonly setting: string
  /** The value as given. */
  readonly value: string
  readonly message: string
  readonly hint: string
}

/**
 * The backend and BLAS a run asks for (`runtime.backend` / LORAPIPE_BACKEND, `runtime.blas` /
 * LORAPIPE_BLAS), checked without TensorFlow.js: an unknown backend or a native one not installed,
 * and a named BLAS library that does not load (loaded here exactly as the run loads it, and kept
 * for it; `auto` never fails: without a library the wasm kernels run).
 */
export function preflightRuntime(runtime: { readonly backend?: string; readonly blas?: string; readonly threads?: number }, env: Record<string, string | undefined> = process.env): RuntimeProblem[] {
  const problems: RuntimeProblem[] = []
  const backend = backendProblem(runtime.backend, env)
  if (backend) problems.push({ setting: backend.source === 'env' ? 'LORAPIPE_BACKEND' : 'runtime.backend', value: backend.requested, message: backend.message, hint: backend.hint })
  // The BLAS serves the wasm backend only.
  const req = backendRequest(runtime.backend, env)
  if ('name' in req && (req.name === 'wasm' || req.name === 'auto')) {
    const threads = runtime.threads !== undefined ? Math.max(1, Math.floor(runtime.threads)) : machineThreads(env)
    const wanted = blasRequest({ blas: runtime.blas, env }).value.toLowerCase()
    if (wanted !== 'auto' && wanted !== 'off') {
      const r = resolveBlas({ blas: runtime.blas, env, threads })
      if (!r.ok) problems.push({ setting: r.source === 'env' ? 'LORAPIPE_BLAS' : 'runtime.blas', value: r.requested, message: r.message, hint: r.hint })
    }
  }
  return problems
}
