// The few protocol-buffer wire encodings the event files need (varint, 64-bit double, 32-bit
// float, length-delimited), written out rather than taken from a protobuf library: the messages
// are fixed and small (see messages.ts), and a library would need the .proto files compiled in.
// Field numbers and types are those of TensorFlow's and TensorBoard's .proto files.

/** A message under construction: fields are appended in the order written. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = []

  private varint(v: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(v))
    const out: number[] = []
    while (n >= 0x80n) {
      out.push(Number(n & 0x7fn) | 0x80)
      n >>= 7n
    }
    out.push(Number(n))
    this.parts.push(Uint8Array.from(out))
  }

  private key(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wireType)
  }

  /** int32, int64, enum, bool (wire type 0). */
  int(field: number, v: number | bigint | boolean): this {
    this.key(field, 0)
    this.varint(typeof v === 'boolean' ? (v ? 1 : 0) : v)
    return this
  }

  double(field: number, v: number): this {
    this.key(field, 1)
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, v, true)
    this.parts.push(b)
    return this
  }

  float(field: number, v: number): this {
    this.key(field, 5)
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, v, true)
    this.parts.push(b)
    return this
  }

  /** string, bytes or an embedded message (wire type 2). */
  bytes(field: number, v: Uint8Array | string | ProtoWriter): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof ProtoWriter ? v.finish() : v
    this.key(field, 2)
    this.varint(b.length)
    this.parts.push(b)
    return this
  }

  finish(): Uint8Array {
    return Buffer.concat(this.parts)
  }
}

export interface WireField {
  readonly field: number
  readonly wireType: number
  /** A varint's value (wire type 0). */
  readonly int?: bigint
  /** The bytes of a length-delimited or fixed-width field. */
  readonly bytes?: Uint8Array
}

/** The fields of a message, in order: enough to read back what a resumed run needs (steps and tags). Throws on malformed input. */
export function* readFields(buf: Uint8Array): Generator<WireField> {
  let off = 0
  const varint = (): bigint => {
    let v = 0n
    for (let shift = 0n; ; shift += 7n) {
      if (off >= buf.length || shift > 63n) throw new Error('malformed varint')
      const b = buf[off++]!
      v |= BigInt(b & 0x7f) << shift
      if (!(b & 0x80)) return v
    }
  }
  const take = (n: number) => {
    if (off + n > buf.length) throw new Error('field runs past the message')
    const b = buf.subarray(off, off + n)
    off += n
    return b
  }
  while (off < buf.length) {
    const key = Number(varint())
    const field = key >>> 3
    const wireType = key & 7
    if (wireType === 0) yield { field, wireType, int: varint() }
    else if (wireType === 1) yield { field, wireType, bytes: take(8) }
    else if (wireType === 5) yield { field, wireType, bytes: take(4) }
    else if (wireType === 2) yield { field, wireType, bytes: take(Number(varint())) }
    else throw new Error(`unsupported wire type ${wireType}`)
  }
}
