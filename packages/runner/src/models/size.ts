// Whether a model can fit in memory at all, from its family's closed-form parameterCount (a config
// with a million layers costs nothing to measure), checked before anything is allocated: a config
// that asks for terabytes is bad input with the figures, not a V8 abort after a minute of allocating.
import { totalmem } from 'node:os'

/** Bytes per float32 weight; a trained one also has a gradient and AdamW's two moments. */
export const BYTES_PER_WEIGHT = 4
export const BYTES_PER_TRAINED_WEIGHT = 16

/** The most memory a model may use, and what sets it, in words. */
export interface MemoryLimit {
  readonly bytes: number
  readonly name: string
}

// The wasm backend keeps every tensor in one 32-bit WebAssembly memory: 4 GiB at most, whatever
// the machine has.
const WASM_MEMORY = 4 * 1024 ** 3

/**
 * The machine's physical memory (LORAPIPE_MEMORY_LIMIT, in bytes, lowers it), and at most 4 GiB
 * once the wasm backend is in use. The backend is read from TensorFlow.js's global engine, so
 * nothing here loads TensorFlow.js (checks before a run stay fast).
 */
export function memoryLimit(env: Record<string, string | undefined> = process.env): MemoryLimit {
  const set = Number(env.LORAPIPE_MEMORY_LIMIT)
  let limit: MemoryLimit = Number.isFinite(set) && set > 0 && set < totalmem() ? { bytes: set, name: 'LORAPIPE_MEMORY_LIMIT' } : { bytes: totalmem(), name: "this machine's memory" }
  const backend = (globalThis as { _tfengine?: { backendName?: string } })._tfengine?.backendName
  if (backend === 'wasm' && WASM_MEMORY < limit.bytes) limit = { bytes: WASM_MEMORY, name: "the wasm backend's memory" }
  return limit
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++
  return i === 0 ? `${n} bytes` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`
}

export function formatCount(n: number): string {
  return n < 1e15 ? Math.round(n).toLocaleString('en-US') : n.toExponential(2)
}

/**
 * Why `parameters` weights (each `bytesEach` bytes) cannot fit in the memory limit, or undefined
 * when they can. The words name both figures.
 */
export function sizeProblem(what: string, parameters: number, bytesEach: number, limit: MemoryLimit | number = memoryLimit()): string | undefined {
  const l = typeof limit === 'number' ? { bytes: limit, name: "this machine's memory" } : limit
  const need = parameters * bytesEach
  if (need <= l.bytes) return undefined
  return `${what} has ${formatCount(parameters)} parameters, ${formatBytes(need)} in memory, more than ${l.name} (${formatBytes(l.bytes)})`
}
