// Safetensors writer laid out as the reference implementation does: tensors ordered by element size
// (largest first, so every tensor stays aligned to its element size) then by name, __metadata__
// first in the header, header padded with spaces to a multiple of 8 bytes. Files are written
// atomically (temp file in the same folder, then rename).
import { SafetensorsError } from './error.ts'
import { DTYPE_BYTES, floatToBf16, floatToHalf, type SafetensorsDtype } from './dtype.ts'
import { writeFileAtomic } from '@lorapipe/core/fs/atomic.ts'

export type WritableDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32'

export interface TensorToWrite {
  /** Stored element type (default F32). */
  readonly dtype?: WritableDtype
  readonly shape: readonly number[]
  readonly data: ArrayLike<number>
}

export type TensorsToWrite = ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>

function encodeData(name: string, t: TensorToWrite, dtype: WritableDtype, file: string): Uint8Array {
  const count = t.shape.reduce((a, b) => a * b, 1)
  if (t.data.length !== count) {
    throw new SafetensorsError({ file, reason: `tensor "${name}": shape ${JSON.stringify(t.shape)} needs ${count} values, got ${t.data.length}` })
  }
  const out = new Uint8Array(count * DTYPE_BYTES[dtype])
  const dv = new DataView(out.buffer)
  const d = t.data
  switch (dtype) {
    case 'F32':
      if (d instanceof Float32Array) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))
      else for (let i = 0; i < count; i++) dv.setFloat32(i * 4, d[i]!, true)
      break
    case 'F64':
      for (let i = 0; i < count; i++) dv.setFloat64(i * 8, d[i]!, true)
      break
    case 'F16':
      for (let i = 0; i < count; i++) dv.setUint16(i * 2, floatToHalf(d[i]!), true)
      break
    case 'BF16':
      for (let i = 0; i < count; i++) dv.setUint16(i * 2, floatToBf16(d[i]!), true)
      break
    case 'I32':
      for (let i = 0; i < count; i++) dv.setInt32(i * 4, d[i]!, true)
      break
    case 'I64':
      for (let i = 0; i < count; i++) dv.setBigInt64(i * 8, BigInt(Math.trunc(d[i]!)), true)
      break
  }
  return out
}

/** Serialises tensors (and optional string metadata) to safetensors bytes. */
export function encodeSafetensors(
  tensors: TensorsToWrite,
  metadata?: Readonly<Record<string, string>> | null,
  file = '<buffer>',
): Uint8Array {
  const list: Array<[string, TensorToWrite]> = tensors instanceof Map ? [...tensors] : Object.entries(tensors as Record<string, TensorToWrite>)
  for (const [name] of list) {
    if (name === '__metadata__') throw new SafetensorsError({ file, reason: 'a tensor cannot be named "__metadata__"' })
  }
  const dt = (t: TensorToWrite): WritableDtype => t.dtype ?? 'F32'
  list.sort((a, b) => DTYPE_BYTES[dt(b[1]) as SafetensorsDtype] - DTYPE_BYTES[dt(a[1]) as SafetensorsDtype] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

  const header: Record<string, unknown> = {}
  if (metadata) header.__metadata__ = { ...metadata }
  const blobs: Uint8Array[] = []
  let offset = 0
  for (const [name, t] of list) {
    const blob = encodeData(name, t, dt(t), file)
    header[name] = { dtype: dt(t), shape: [...t.shape], data_offsets: [offset, offset + blob.byteLength] }
    blobs.push(blob)
    offset += blob.byteLength
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const padded = Math.ceil(json.byteLength / 8) * 8
  const out = new Uint8Array(8 + padded + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.byteLength, 8 + padded)
  let pos = 8 + padded
  for (const b of blobs) {
    out.set(b, pos)
    pos += b.byteLength
  }
  return out
}

/** Writes a .safetensors file atomically. */
export async function writeSafetensors(
  path: string,
  tensors: TensorsToWrite,
  metadata?: Readonly<Record<string, string>> | null,
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata, path)
  try {
    await writeFileAtomic(path, bytes)
  } catch (e) {
    throw new SafetensorsError({ file: path, reason: `cannot write the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` })
  }
}
