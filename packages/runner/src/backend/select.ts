// Chooses the TensorFlow.js backend once at start-up: tfjs-node-gpu, tfjs-node, wasm, then the
// pure-JS cpu backend. The native packages are optional dependencies loaded with a dynamic import;
// when one is missing we fall through and remember why, so the CLI can say what it runs on.
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import * as tfwasm from '@tensorflow/tfjs-backend-wasm'
import os from 'node:os'
import { machineThreads } from '@lorapipe/core/os/threads.ts'
import { registerMissingKernels } from './kernels.ts'
import { prepareWasmThreads, releaseIdleWasmWorkers } from './wasm-threads.ts'
import { chooseBlas, describeBlas, releaseBlas, blasRequest, type BlasInfo } from './blas/select.ts'
import { BACKEND_NAMES, BACKEND_PACKAGE, BackendError, backendRequest, backendSetting, unavailableBackend, type BackendName } from './request.ts'

export { BACKEND_NAMES, BackendError, type BackendName } from './request.ts'

export interface BackendInfo {
  /** which backend runs the computation */
  readonly name: BackendName
  /** tf.getBackend() after selection ('tensorflow' for both native packages) */
  readonly tfBackend: string
  /** threads used by the backend's kernels (wasm: XNNPACK pool; native: TensorFlow's own) */
  readonly threads: number
  /** how the choice was made: 'auto', the pipeline's runtime.backend or the LORAPIPE_BACKEND variable */
  readonly source: 'auto' | 'pipeline' | 'env'
  /** one line for the user: why this backend (and why not the better ones) */
  readonly reason: string
  /** the system BLAS the wasm backend's matrix products run on (null: its own kernels) */
  readonly blas: BlasInfo | null
  /** why BLAS is used or not (wasm only; other backends bring their own matrix products) */
  readonly blasReason?: string
}

export interface SelectBackendOptions {
  /** runtime.backend from the pipeline ('auto' or one of BACKEND_NAMES) */
  readonly backend?: string | undefined
  /** runtime.blas from the pipeline: 'auto' (default), 'off' or a library file (wasm only) */
  readonly blas?: string | undefined
  /** wasm threads; default: LORAPIPE_THREADS, else os.availableParallelism() */
  readonly threads?: number | undefined
  /** environment to read LORAPIPE_BACKEND / LORAPIPE_THREADS from (default process.env) */
  readonly env?: Record<string, string | undefined> | undefined
}

type Attempt = { ok: true; info: Omit<BackendInfo, 'source' | 'reason' | 'blas' | 'blasReason'>; note?: string } | { ok: false; why: string }

let current: { key: string; info: BackendInfo } | undefined
let pending: { key: string; promise: Promise<BackendInfo> } | undefined
let wasmThreads: { threads: number; note?: string } | undefined

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e)
  return (m.split('\n')[0] ?? m).slice(0, 200)
}

async function tryNative(name: 'tfjs-node-gpu' | 'tfjs-node'): Promise<Attempt> {
  const pkg = BACKEND_PACKAGE[name]
  try {
    // The specifier is a variable so bundlers and tsc do not require the optional package.
    await import(/* @vite-ignore */ pkg)
  } catch (e) {
    const code = (e as { code?: string }).code
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
    return { ok: false, why: missing ? `${name} not installed` : `${name} failed to load (${firstLine(e)})` }
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, why: `${name} loaded but its backend did not initialise` }
  } catch (e) {
    return { ok: false, why: `${name} backend failed to initialise (${firstLine(e)})` }
  }
  return { ok: true, info: { name, tfBackend: 'tensorflow', threads: os.availableParallelism() } }
}

function wantedThreads(opts: SelectBackendOptions, env: Record<string, string | undefined>): number {
  if (opts.threads !== undefined) return Math.max(1, Math.floor(opts.threads))
  return machineThreads(env)
}

async function tryWasm(threads: number): Promise<Attempt> {
  if (wasmThreads === undefined) {
    // The thread count is fixed when the wasm module initialises (once per process), so this must
    // run before anything else touches the wasm backend (tf.findBackend would initialise it).
    tfwasm.setThreadsCount(threads)
    const setup = prepareWasmThreads(threads, (v) => tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', v))
    // The emscripten glue installs process handlers that rethrow every uncaught error from inside
    // its minified source (burying the real message under a screen of code); we take them out.
    const before = {
      uncaughtException: process.listeners('uncaughtException'),
      unhandledRejection: process.listeners('unhandledRejection'),
    }
    try {
      if (!(await tf.setBackend('wasm'))) return { ok: false, why: 'wasm backend did not initialise' }
    } catch (e) {
      return { ok: false, why: `wasm backend failed to initialise (${firstLine(e)})` }
    } finally {
      setup.restore()
      for (const l of process.listeners('uncaughtException')) {
        if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l)
      }
      for (const l of process.listeners('unhandledRejection')) {
        if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l)
      }
    }
    releaseIdleWasmWorkers((tf.backend() as unknown as { wasm?: unknown }).wasm)
    const actual = tfwasm.getThreadsCount()
    wasmThreads = {
      threads: actual,
      ...(actual < threads ? { note: setup.ok ? `wasm runs ${actual} of ${threads} threads` : `wasm single-threaded: ${setup.reason}` } : {}),
    }
  } else if (!(await tf.setBackend('wasm'))) {
    return { ok: false, why: 'wasm backend did not initialise' }
  }
  return {
    ok: true,
    info: { name: 'wasm', tfBackend: 'wasm', threads: wasmThreads.threads },
    ...(wasmThreads.note ? { note: wasmThreads.note } : {}),
  }
}

async function tryBackend(name: BackendName, threads: number): Promise<Attempt> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      return tryNative(name)
    case 'wasm':
      return tryWasm(threads)
    case 'cpu':
      return (await tf.setBackend('cpu'))
        ? { ok: true, info: { name: 'cpu', tfBackend: 'cpu', threads: 1 } }
        : { ok: false, why: 'cpu backend did not initialise' }
  }
}

/**
 * Selects and initialises the backend. Order for 'auto': tfjs-node-gpu, tfjs-node, wasm, cpu.
 * LORAPIPE_BACKEND overrides `opts.backend` (the pipeline's runtime.backend). An explicitly requested
 * backend that cannot start throws BackendError saying how to install it. Calling it again with the
 * same request returns the same description without re-initialising anything; the kernels that
 * training needs but the backend lacks are registered (see kernels.ts).
 */
export async function selectBackend(opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  const env = opts.env ?? process.env
  const req = backendRequest(opts.backend, env)
  if ('problem' in req) throw new BackendError({ requested: req.problem.requested, source: req.problem.source, message: `${req.problem.message}: ${req.problem.hint}` })
  const { name, source, raw } = req
  const threads = wantedThreads(opts, env)
  const blasReq = blasRequest({ blas: opts.blas, env })
  const key = `${name}|${threads}|${blasReq.value}|${blasReq.source}`
  if (current?.key === key && tf.getBackend() === current.info.tfBackend) return current.info
  if (pending?.key === key) return pending.promise
  const promise = (async (): Promise<BackendInfo> => {
    const notes: string[] = []
    const order = name === 'auto' ? BACKEND_NAMES : [name]
    for (const candidate of order) {
      const r = await tryBackend(candidate, threads)
      if (!r.ok) {
        if (name !== 'auto') {
          const p = unavailableBackend(candidate, raw, source, r.why)
          throw new BackendError({ requested: raw, source, message: `${p.message}; ${p.hint}` })
        }
        notes.push(r.why)
        continue
      }
      registerMissingKernels(r.info.tfBackend)
      if (r.note) notes.push(r.note)
      let blas: Pick<BackendInfo, 'blas' | 'blasReason'> = { blas: null }
      if (candidate === 'wasm') {
        // the threads asked for, even where wasm itself got fewer (no SharedArrayBuffer)
        const b = chooseBlas({ blas: opts.blas, env, threads })
        if (!b.ok) throw new BackendError({ requested: b.requested, source: b.source, message: b.message })
        blas = { blas: b.choice.blas, blasReason: b.choice.reason }
      } else {
        releaseBlas()
      }
      const why =
        source === 'auto'
          ? `${[...notes].join('; ')}${notes.length ? '; ' : ''}using ${candidate}`
          : `requested by ${backendSetting(source)}${notes.length ? ` (${notes.join('; ')})` : ''}`
      const info: BackendInfo = { ...r.info, source, reason: why, ...blas }
      current = { key, info }
      return info
    }
    throw new BackendError({ requested: raw, source, message: `no TensorFlow.js backend could start: ${notes.join('; ')}` })
  })()
  pending = { key, promise }
  try {
    return await promise
  } finally {
    if (pending?.promise === promise) pending = undefined
  }
}

/**
 * A one-line description for logs and the CLI: "wasm (2 threads): tfjs-node not installed; …",
 * and on wasm what runs the matrix products: "; matrix products: OpenBLAS 0.3.21 (libopenblas.so.0, 2 threads) (found)".
 */
export function describeBackend(info: BackendInfo): string {
  const base = `${info.name} (${info.threads} thread${info.threads === 1 ? '' : 's'}): ${info.reason}`
  if (info.blasReason === undefined) return base
  return `${base}; matrix products: ${info.blas ? describeBlas(info.blas) : 'wasm'} (${info.blasReason})`
}
