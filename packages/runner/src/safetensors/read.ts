// Safetensors reader with the validation of the reference implementation (huggingface/safetensors):
// header length bounded and inside the file, a JSON object, known dtypes, byte lengths that match
// shape x dtype, offsets contiguous and covering the data buffer exactly. Floating tensors are
// returned as float32, integer tensors as int32.
import { FILE_KINDS, readUserFile, readUserFileAsync, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { SafetensorsError } from './error.ts'
import { DTYPE_BYTES, bf16ToFloat, halfToFloat, isDtype, type SafetensorsDtype } from './dtype.ts'

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000

export interface TensorEntry {
  readonly dtype: SafetensorsDtype
  readonly shape: readonly number[]
  /** [start, end) in bytes, relative to the start of the data buffer (after the header). */
  readonly dataOffsets: readonly [number, number]
}

export interface SafetensorsHeader {
  /** Length of the JSON header in bytes (the u64 at the start of the file). */
  readonly headerBytes: number
  readonly metadata: Readonly<Record<string, string>> | null
  /** Tensors in the order the header lists them. */
  readonly entries: ReadonlyMap<string, TensorEntry>
}

export interface LoadedTensor {
  /** dtype as stored in the file. */
  readonly dtype: SafetensorsDtype
  readonly shape: number[]
  /** float32 for F64/F32/F16/BF16, int32 for the integer types (may view the file's bytes). */
  readonly data: Float32Array | Int32Array
}

export interface SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>> | null
  readonly tensors: ReadonlyMap<string, LoadedTensor>
}

export interface ReadOptions {
  /** Largest accepted JSON header, bytes (default 100 MB as the reference implementation). */
  readonly maxHeaderBytes?: number
  /** Accept NaN and infinite values in floating tensors (default: refuse them, naming the tensor). */
  readonly allowNonFinite?: boolean
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Parses and validates the header of a complete safetensors file held in `bytes`. */
export function parseHeader(bytes: Uint8Array, file = '<buffer>', options: ReadOptions = {}): SafetensorsHeader {
  const fail = (reason: string): never => {
    throw new SafetensorsError({ file, reason })
  }
  const maxHeader = options.maxHeaderBytes ?? MAX_HEADER_BYTES
  if (bytes.byteLength < 8) {
    fail(`file is ${bytes.byteLength} bytes, too short to hold the 8-byte header length (truncated or not a safetensors file)`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n64 = view.getBigUint64(0, true)
  if (n64 > BigInt(maxHeader)) {
    fail(`header length ${n64} exceeds the limit of ${maxHeader} bytes (corrupt file or not a safetensors file)`)
  }
  const n = Number(n64)
  if (8 + n > bytes.byteLength) {
    fail(`header length ${n} runs past the end of the file (${bytes.byteLength} bytes): the file is truncated`)
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n))
  } catch {
    return fail('header is not valid UTF-8')
  }
  if (!text.startsWith('{')) fail(`header must be a JSON object starting with '{', found ${JSON.stringify(text.slice(0, 20))}`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`)
  }
  if (!isObject(json)) return fail('header must be a JSON object')

  let metadata: Record<string, string> | null = null
  const entries = new Map<string, TensorEntry>()
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isObject(raw)) fail('__metadata__ must be an object of string values')
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} must be a string, found ${JSON.stringify(v)}`)
      }
      metadata = raw as Record<string, string>
      continue
    }
    if (!isObject(raw)) fail(`tensor "${name}": entry must be an object with dtype, shape and data_offsets`)
    const entry = raw as Record<string, unknown>
    const extra = Object.keys(entry).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets')
    if (extra.length > 0) fail(`tensor "${name}": unknown field(s) ${extra.join(', ')}`)
    const dtype = entry.dtype
    if (!isDtype(dtype)) {
      fail(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`)
    }
    const shape = entry.shape
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor "${name}": shape must be an array of non-negative integers, found ${JSON.stringify(shape)}`)
    }
    const offs = entry.data_offsets
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor "${name}": data_offsets must be [start, end] with non-negative integers, found ${JSON.stringify(offs)}`)
    }
    const [start, end] = offs as [number, number]
    if (end < start) fail(`tensor "${name}": data_offsets [${start}, ${end}] end before they start`)
    const elements = (shape as number[]).reduce((a, b) => a * b, 1)
    const expected = elements * DTYPE_BYTES[dtype as SafetensorsDtype]
    if (!Number.isSafeInteger(expected)) fail(`tensor "${name}": shape ${JSON.stringify(shape)} is too large`)
    if (end - start !== expected) {
      fail(
        `tensor "${name}": ${dtype} ${JSON.stringify(shape)} needs ${expected} bytes but data_offsets [${start}, ${end}] span ${end - start}`,
      )
    }
    entries.set(name, { dtype: dtype as SafetensorsDtype, shape: shape as number[], dataOffsets: [start, end] })
  }

  // Offsets must tile the data buffer: no overlap, no gap, nothing left over.
  const dataBytes = bytes.byteLength - 8 - n
  const byStart = [...entries].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1])
  let pos = 0
  let prev = ''
  for (const [name, e] of byStart) {
    const [s, end] = e.dataOffsets
    if (s < pos) fail(`tensor "${name}": data_offsets [${s}, ${end}] overlap tensor "${prev}" (which ends at ${pos})`)
    if (s > pos) fail(`tensor "${name}": data_offsets start at ${s} but the previous tensor ends at ${pos} (gap of ${s - pos} bytes)`)
    if (end > dataBytes) {
      fail(`tensor "${name}": data_offsets [${s}, ${end}] run past the end of the data (${dataBytes} bytes): the file is truncated`)
    }
    pos = end
    prev = name
  }
  if (pos !== dataBytes) {
    fail(`the tensors cover ${pos} bytes of data but the file holds ${dataBytes} after the header (trailing bytes)`)
  }
  return { headerBytes: n, metadata, entries }
}

/** Bytes [from, to) of `bytes` in a new buffer of their own. (Buffer#slice would share memory.) */
function copyOf(bytes: Uint8Array, from: number, to: number): ArrayBuffer {
  const out = new Uint8Array(to - from)
  out.set(bytes.subarray(from, to))
  return out.buffer
}

function decodeTensor(bytes: Uint8Array, base: number, e: TensorEntry): Float32Array | Int32Array {
  const [s, end] = e.dataOffsets
  const at = bytes.byteOffset + base + s
  const count = (end - s) / DTYPE_BYTES[e.dtype]
  const dv = new DataView(bytes.buffer, at, end - s)
  switch (e.dtype) {
    // A view where the data is 4-byte aligned; otherwise a copy (the header length, and so the
    // data's start, need not be a multiple of 4; nor need a Node Buffer's offset in its pool).
    case 'F32':
      if (at % 4 === 0) return new Float32Array(bytes.buffer, at, count)
      return new Float32Array(copyOf(bytes, base + s, base + end))
    case 'I32':
      if (at % 4 === 0) return new Int32Array(bytes.buffer, at, count)
      return new Int32Array(copyOf(bytes, base + s, base + end))
    case 'F64': {
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(i * 8, true)
      return out
    }
    case 'F16': {
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true))
      return out
    }
    case 'BF16': {
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = bf16ToFloat(dv.getUint16(i * 2, true))
      return out
    }
    case 'I64': {
      const out = new Int32Array(count)
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(i * 8, true)
        if (v > 2147483647n || v < -2147483648n) {
          throw new RangeError(`I64 value ${v} at index ${i} does not fit in int32`)
        }
        out[i] = Number(v)
      }
      return out
    }
    case 'I16': {
      const out = new Int32Array(count)
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(i * 2, true)
      return out
    }
    case 'I8': {
      const out = new Int32Array(count)
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(i)
      return out
    }
    case 'U8':
    case 'BOOL': {
      const out = new Int32Array(count)
      for (let i = 0; i < count; i++) out[i] = dv.getUint8(i)
      return out
    }
  }
}

/** Index of the first NaN or infinity in `data`, or -1. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    // x - x is 0 for every finite x and NaN for NaN and ±infinity: one test per value.
    const x = data[i]!
    if (x - x !== 0) return i
  }
  return -1
}

/** Decodes a complete safetensors file held in memory. */
export function decodeSafetensors(bytes: Uint8Array, file = '<buffer>', options: ReadOptions = {}): SafetensorsFile {
  const header = parseHeader(bytes, file, options)
  const base = 8 + header.headerBytes
  const tensors = new Map<string, LoadedTensor>()
  for (const [name, e] of header.entries) {
    let data: Float32Array | Int32Array
    try {
      data = decodeTensor(bytes, base, e)
    } catch (err) {
      throw new SafetensorsError({ file, reason: `tensor "${name}": ${(err as Error).message}` })
    }
    if (!options.allowNonFinite && data instanceof Float32Array) {
      // Weights, adapters and checkpoints are all read here: a NaN or infinity in any of them
      // would make every later number meaningless (a "prediction" of LABEL_-1, a NaN loss).
      const bad = firstNonFinite(data)
      if (bad >= 0) {
        const v = data[bad]!
        throw new SafetensorsError({
          file,
          reason: `tensor "${name}" holds ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+infinity' : '-infinity'} (first at index ${bad} of ${data.length}); the file is corrupt or comes from a diverged training run`,
        })
      }
    }
    tensors.set(name, { dtype: e.dtype, shape: [...e.shape], data })
  }
  return { metadata: header.metadata, tensors }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readUserFileAsync(path, FILE_KINDS.weights)
  } catch (e) {
    throw new SafetensorsError({ file: path, reason: e instanceof UserFileError ? e.reason : `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` })
  }
}

/** Reads and validates a .safetensors file. */
export async function readSafetensors(path: string, options: ReadOptions = {}): Promise<SafetensorsFile> {
  return decodeSafetensors(await readBytes(path), path, options)
}

/** Reads only the validated header (still reads the file to check sizes). */
export async function readSafetensorsHeader(path: string, options: ReadOptions = {}): Promise<SafetensorsHeader> {
  return parseHeader(await readBytes(path), path, options)
}

export function readSafetensorsSync(path: string, options: ReadOptions = {}): SafetensorsFile {
  let bytes: Uint8Array
  try {
    bytes = readUserFile(path, FILE_KINDS.weights)
  } catch (e) {
    throw new SafetensorsError({ file: path, reason: e instanceof UserFileError ? e.reason : `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` })
  }
  return decodeSafetensors(bytes, path, options)
}

