// The system BLAS, found and bound at start-up through koffi (an FFI whose npm package ships
// prebuilt binaries: no compiler, no install script). We need one function, cblas_sgemm, and the
// library's thread-count setter. Where to look:
//   Linux:   OpenBLAS (Debian/Ubuntu `libopenblas0`: libopenblas.so.0), Intel MKL (libmkl_rt),
//            the 64-bit-integer OpenBLAS (libopenblas64, symbols with a 64_ suffix)
//   macOS:   Accelerate (always there), then Homebrew's OpenBLAS
//   Windows: libopenblas.dll, mkl_rt
// or a file the user names (runtime.blas / LORAPIPE_BLAS).
import { createRequire } from 'node:module'
import { statSync } from 'node:fs'
import { basename } from 'node:path'

const require = createRequire(import.meta.url)

/** cblas enums (row-major storage, transpose flags) */
export const CBLAS_ROW_MAJOR = 101
export const CBLAS_NO_TRANS = 111
export const CBLAS_TRANS = 112

/** C = alpha op(A) op(B) + beta C, row-major; A, B, C are views of the same memory the library writes. */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void

export type BlasKind = 'openblas' | 'mkl' | 'accelerate' | 'blas'

export interface BlasLibrary {
  readonly kind: BlasKind
  /** what the library says it is, e.g. "OpenBLAS 0.3.21 … USE_OPENMP Haswell" (or the kind) */
  readonly label: string
  /** the file loaded (a soname such as libopenblas.so.0 when found through the loader's path) */
  readonly path: string
  /** threads the library uses for one product (null when it cannot be set: Accelerate) */
  readonly threads: number | null
  readonly sgemm: Sgemm
}

export type BlasLoad = { readonly ok: true; readonly lib: BlasLibrary } | { readonly ok: false; readonly why: string }

interface Candidate {
  readonly file: string
  /** ILP64 builds take 64-bit integers and (on Debian) export cblas_sgemm64_ */
  readonly ilp64?: boolean
}

/** Libraries tried, in order, when nothing is named. */
export function blasCandidates(platform: NodeJS.Platform = process.platform): Candidate[] {
  switch (platform) {
    case 'darwin':
      return [
        { file: '/System/Library/Frameworks/Accelerate.framework/Accelerate' },
        { file: '/opt/homebrew/opt/openblas/lib/libopenblas.dylib' },
        { file: '/usr/local/opt/openblas/lib/libopenblas.dylib' },
      ]
    case 'win32':
      return [{ file: 'libopenblas.dll' }, { file: 'mkl_rt.2.dll' }]
    default:
      return [
        { file: 'libopenblas.so.0' },
        { file: 'libopenblas.so' },
        { file: 'libmkl_rt.so.2' },
        { file: 'libmkl_rt.so' },
        { file: 'libopenblas64.so.0', ilp64: true },
        { file: 'libopenblas64.so', ilp64: true },
      ]
  }
}

type Koffi = typeof import('koffi')
type KoffiLib = ReturnType<Koffi['load']>

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e)
  return (m.split('\n')[0] ?? m).slice(0, 200)
}

function tryFunc(lib: KoffiLib, decl: string): ((...a: unknown[]) => unknown) | undefined {
  try {
    return lib.func(decl) as (...a: unknown[]) => unknown
  } catch {
    return undefined
  }
}

/**
 * Idle BLAS threads must sleep, not spin: between two products the wasm thread pool runs the
 * element-wise kernels on the same cores. OpenMP builds read OMP_WAIT_POLICY when the library
 * loads (so it is set before, unless the user chose); OpenBLAS's own pthread pool reads
 * OPENBLAS_THREAD_TIMEOUT (2^n cycles of polling before it sleeps; 4 is the least).
 */
function quietIdleThreads(env: NodeJS.ProcessEnv): void {
  env.OMP_WAIT_POLICY ??= 'PASSIVE'
  env.OPENBLAS_THREAD_TIMEOUT ??= '4'
}

function bind(koffi: Koffi, c: Candidate, threads: number): BlasLoad {
  let lib: KoffiLib
  try {
    lib = koffi.load(c.file)
  } catch (e) {
    return { ok: false, why: `${c.file}: ${firstLine(e)}` }
  }
  const int = c.ilp64 ? 'int64_t' : 'int'
  // Pointers are `float *`: koffi passes a TypedArray's own memory (no copy, written in place).
  const sig = (name: string) =>
    `void ${name}(int order, int transA, int transB, ${int} m, ${int} n, ${int} k, float alpha, const float *a, ${int} lda, const float *b, ${int} ldb, float beta, float *c, ${int} ldc)`
  const raw = (c.ilp64 ? tryFunc(lib, sig('cblas_sgemm64_')) : undefined) ?? tryFunc(lib, sig('cblas_sgemm'))
  if (!raw) return { ok: false, why: `${c.file} has no cblas_sgemm` }
  let kind: BlasKind = 'blas'
  let label: string = basename(c.file)
  let actualThreads: number | null = null
  const setOpenblas = tryFunc(lib, `void ${c.ilp64 ? 'openblas_set_num_threads64_' : 'openblas_set_num_threads'}(int n)`) ?? tryFunc(lib, 'void openblas_set_num_threads(int n)')
  const setMkl = tryFunc(lib, 'void MKL_Set_Num_Threads(int n)')
  if (setOpenblas) {
    kind = 'openblas'
    setOpenblas(threads)
    const get = tryFunc(lib, 'int openblas_get_num_threads()') ?? tryFunc(lib, 'int openblas_get_num_threads64_()')
    actualThreads = get ? (get() as number) : threads
    const config = tryFunc(lib, 'const char *openblas_get_config()') ?? tryFunc(lib, 'const char *openblas_get_config64_()')
    label = config ? String(config()).replace(/\s+/g, ' ').trim() : 'OpenBLAS'
  } else if (setMkl) {
    kind = 'mkl'
    setMkl(threads)
    const get = tryFunc(lib, 'int MKL_Get_Max_Threads()')
    actualThreads = get ? (get() as number) : threads
    label = 'Intel MKL'
  } else if (c.file.includes('Accelerate.framework')) {
    // Accelerate sizes its own pool (VECLIB_MAXIMUM_THREADS, read at load); nothing to set.
    kind = 'accelerate'
    label = 'Apple Accelerate'
  }
  const T = CBLAS_TRANS
  const N = CBLAS_NO_TRANS
  const sgemm: Sgemm = (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc) => {
    raw(CBLAS_ROW_MAJOR, ta ? T : N, tb ? T : N, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
  }
  return { ok: true, lib: { kind, label, path: c.file, threads: actualThreads, sgemm } }
}

export interface FindBlasOptions {
  /** a library file to load instead of searching ('auto' or undefined: search) */
  readonly path?: string | undefined
  /** threads for one product */
  readonly threads: number
  readonly platform?: NodeJS.Platform
  /** environment the thread settings are written to before loading (default process.env) */
  readonly env?: NodeJS.ProcessEnv
}

/** Why `path` cannot be a library file (it is missing, a folder, a device...), before the loader says it less plainly. */
function libraryFileProblem(path: string): string | undefined {
  let st
  try {
    st = statSync(path)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? `${path} does not exist` : `${path} cannot be read (${code ?? (e as Error).message})`
  }
  if (st.isDirectory()) return `${path} is a folder, not a library file`
  if (!st.isFile()) return `${path} is not a regular file`
  return undefined
}

/** Loads the named library or the first candidate that has cblas_sgemm; says why when none does. */
export function loadBlas(opts: FindBlasOptions): BlasLoad {
  let koffi: Koffi
  try {
    koffi = require('koffi') as Koffi
  } catch (e) {
    return { ok: false, why: `the koffi package could not load (${firstLine(e)}); reinstall the dependencies with \`npm ci\`` }
  }
  quietIdleThreads(opts.env ?? process.env)
  if (opts.path !== undefined && opts.path !== 'auto') {
    const problem = opts.path.includes('/') ? libraryFileProblem(opts.path) : undefined
    if (problem) return { ok: false, why: problem }
    return bind(koffi, { file: opts.path, ilp64: /64/.test(basename(opts.path)) && /openblas/i.test(opts.path) }, opts.threads)
  }
  const misses: string[] = []
  for (const c of blasCandidates(opts.platform)) {
    const r = bind(koffi, c, opts.threads)
    if (r.ok) return r
    misses.push(c.file)
  }
  return { ok: false, why: `no BLAS library found (looked for ${misses.join(', ')})` }
}
