// Multi-threaded XNNPACK for @tensorflow/tfjs-backend-wasm under Node.
//
// tfjs-backend-wasm 4.x turns threads off in Node (WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to
// false there, tensorflow/tfjs#3830) for two reasons, both fixable from outside:
//  1. its pthread workers are started from a `blob:` URL, which Node's worker_threads cannot load,
//     and the worker then `importScripts` the emscripten glue from another Blob;
//  2. the C++ side caps the thread pool at emscripten_num_logical_cores() / 2 (it assumes
//     hyper-threading), and that number comes from os.cpus() — 1 on a 2-core machine.
// We write the package's own worker script (with its glue loaded from the package's
// wasm-out/…threaded-simd.js file) to a temporary .cjs file, hand that path out when the backend
// asks for a Blob URL of it, and report enough CPUs to os.cpus() during initialisation only.
// Measured on 2 cores: a [512,768]x[768,3072] matmul goes from 21 to ~58 GFLOPS.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** Text the package's worker uses to load the glue from a Blob; we replace it with a file load. */
const LOAD_FRAGMENT =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}'

export interface WasmThreadsSetup {
  /** true when the threaded SIMD binary and the worker shim are in place */
  readonly ok: boolean
  /** why threads are unavailable (when ok is false) */
  readonly reason?: string
  /** restore os.cpus and worker_threads.Worker (call once the backend has initialised) */
  readonly restore: () => void
}

interface EmscriptenWorker {
  unref(): void
  terminate(): unknown
}
interface PThreadRegistry {
  runningWorkers: EmscriptenWorker[]
  unusedWorkers: EmscriptenWorker[]
}

/**
 * After initialisation: the thread pool's workers must not keep Node alive (the XNNPACK threads
 * wait forever), and the idle workers emscripten pre-started (8) only hold memory.
 */
export function releaseIdleWasmWorkers(wasmModule: unknown): void {
  const pt = (wasmModule as { PThread?: PThreadRegistry } | undefined)?.PThread
  if (!pt) return
  for (const w of pt.runningWorkers) w.unref()
  for (const w of pt.unusedWorkers) void w.terminate()
  pt.unusedWorkers = []
}

let installedWorkerFile: string | undefined

function wasmOutDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm') // …/dist/tf-backend-wasm.node.js
  return join(dirname(main), '..', 'wasm-out')
}

/**
 * Prepares Node for the threaded wasm binary. Must run before `tf.setBackend('wasm')` initialises
 * the backend; sets the WASM_HAS_MULTITHREAD_SUPPORT flag through `setFlag`.
 */
export function prepareWasmThreads(threads: number, setFlag: (value: boolean) => void): WasmThreadsSetup {
  const noop = () => {}
  if (threads <= 1) return { ok: false, reason: 'one thread requested', restore: noop }
  if (typeof SharedArrayBuffer === 'undefined') {
    return { ok: false, reason: 'SharedArrayBuffer is not available in this Node', restore: noop }
  }
  let glue: string
  let workerContents: string
  try {
    glue = join(wasmOutDir(), 'tfjs-backend-wasm-threaded-simd.js')
    workerContents = require(join(wasmOutDir(), 'tfjs-backend-wasm-threaded-simd.worker.js')).wasmWorkerContents
  } catch (e) {
    return { ok: false, reason: `threaded wasm files not found (${(e as Error).message})`, restore: noop }
  }
  if (typeof workerContents !== 'string' || !workerContents.includes(LOAD_FRAGMENT)) {
    return { ok: false, reason: 'unrecognised tfjs-backend-wasm worker script (version change?)', restore: noop }
  }
  if (!installedWorkerFile) {
    // Strip the trailing CommonJS export lines of the glue: evaluated at global scope (non-strict)
    // its `var WasmBackendModuleThreadedSimd` becomes the global the worker calls next.
    const loader =
      `(function(){var src=require("fs").readFileSync(${JSON.stringify(glue)},"utf8");` +
      `var cut=src.lastIndexOf("if (typeof exports === 'object' && typeof module === 'object')");` +
      `if(cut>=0)src=src.slice(0,cut);(0,eval)(src)})();`
    // The package escapes newlines the same way before making its Blob (string literals in it
    // contain "\n" that the template literal turned into real newlines).
    const script = workerContents.replace(LOAD_FRAGMENT, loader).replace(/\n/g, '\\n')
    const hash = createHash('sha256').update(script).digest('hex').slice(0, 16)
    const dir = join(os.tmpdir(), 'lorapipe-tfjs-wasm')
    const file = join(dir, `worker-${hash}.cjs`)
    try {
      if (!existsSync(file) || readFileSync(file, 'utf8') !== script) {
        mkdirSync(dir, { recursive: true })
        const tmp = `${file}.${process.pid}.tmp`
        writeFileSync(tmp, script)
        // rename is atomic: concurrent processes never see a half-written worker
        require('node:fs').renameSync(tmp, file)
      }
    } catch (e) {
      return { ok: false, reason: `cannot write the wasm worker script to ${dir} (${(e as Error).message})`, restore: noop }
    }
    // The backend's locateFile builds `new Blob([contents with \n escaped], {type: 'application/javascript'})`
    // and passes it to URL.createObjectURL; recognise that Blob by type and size, answer the file path.
    const expectedSize = new Blob([workerContents.replace(/\n/g, '\\n')]).size
    const original = URL.createObjectURL.bind(URL)
    URL.createObjectURL = (obj: Blob) => {
      if (obj instanceof Blob && obj.type === 'application/javascript' && obj.size === expectedSize) return file
      return original(obj)
    }
    installedWorkerFile = file
  }
  setFlag(true)
  // Workers inherit the parent's execArgv (e.g. `--import tsx`), which only slows their start:
  // the worker script is plain CommonJS.
  const wt = require('node:worker_threads') as { Worker: typeof import('node:worker_threads').Worker }
  const OriginalWorker = wt.Worker
  wt.Worker = class extends OriginalWorker {
    constructor(file: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      super(file, { ...options, execArgv: [] })
    }
  }
  // The C++ side uses min(requested, logical cores / 2); report 2x the threads wanted.
  const originalCpus = os.cpus
  const cpus = originalCpus()
  ;(os as { cpus: typeof os.cpus }).cpus = () =>
    Array.from({ length: Math.max(2 * threads, cpus.length) }, (_, i) => cpus[i % Math.max(1, cpus.length)]!)
  let restored = false
  return {
    ok: true,
    restore: () => {
      if (restored) return
      restored = true
      ;(os as { cpus: typeof os.cpus }).cpus = originalCpus
      wt.Worker = OriginalWorker
    },
  }
}
