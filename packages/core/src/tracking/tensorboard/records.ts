// TFRecord framing, as TensorFlow's RecordWriter writes event files: per record a little-endian
// uint64 length, the masked CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data.
// `scanRecords` reads a file back, so a resumed run knows what an earlier one wrote, and finds
// a record cut short by a kill (which it may cut off) or damaged (which it reports).
import { maskedCrc32c } from './crc32c.ts'

export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(16 + data.length)
  out.writeBigUInt64LE(BigInt(data.length), 0)
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8)
  out.set(data, 12)
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length)
  return out
}

export type Scan =
  | { readonly ok: true; readonly records: readonly Uint8Array[]; /** Bytes of whole records; less than the file when its last record was cut short. */ readonly end: number }
  | { readonly ok: false; readonly offset: number; readonly reason: string }

export function scanRecords(bytes: Uint8Array): Scan {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const records: Uint8Array[] = []
  let off = 0
  while (off < buf.length) {
    // Fewer bytes than a header, or than the header promises: a write cut short, not damage.
    if (buf.length - off < 12) return { ok: true, records, end: off }
    const lenCrc = buf.readUInt32LE(off + 8)
    if (maskedCrc32c(buf.subarray(off, off + 8)) !== lenCrc) return { ok: false, offset: off, reason: 'the length of a record fails its checksum' }
    const len = Number(buf.readBigUInt64LE(off))
    if (buf.length - off < 16 + len) return { ok: true, records, end: off }
    const data = buf.subarray(off + 12, off + 12 + len)
    if (maskedCrc32c(data) !== buf.readUInt32LE(off + 12 + len)) return { ok: false, offset: off, reason: 'a record fails its checksum' }
    records.push(data)
    off += 16 + len
  }
  return { ok: true, records, end: off }
}
