// Files that are valid but unusual, and files whose numbers are not numbers. Data that does not
// start on a 4-byte boundary (a header length that is not a multiple of 4; Node's pooled small
// Buffers) is read exactly; a NaN or infinity in any floating tensor is refused, naming it.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeSafetensors, readSafetensors, readSafetensorsSync, SafetensorsError } from '../../src/safetensors/index.ts'

/** A safetensors file with an unpadded header plus `pad` spaces, so the data starts where we say. */
function fileWith(tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>, pad: number): Buffer {
  let off = 0
  const header: Record<string, unknown> = {}
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] }
    off += t.bytes.length
  }
  const h = Buffer.from(JSON.stringify(header) + ' '.repeat(pad))
  const out = Buffer.alloc(8 + h.length + off)
  out.writeBigUInt64LE(BigInt(h.length), 0)
  h.copy(out, 8)
  let at = 8 + h.length
  for (const t of Object.values(tensors)) (out.set(t.bytes, at), (at += t.bytes.length))
  return out
}

const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer)
const i32 = (xs: number[]) => new Uint8Array(new Int32Array(xs).buffer)
const dir = mkdtempSync(join(tmpdir(), 'lorapipe-st-'))

describe('safetensors data off a 4-byte boundary', () => {
  const values = [1.5, -2, 3.25, 4, -0, 1e-30]
  const ids = [7, -8, 2147483647]
  for (const pad of [0, 1, 2, 3]) {
    test(`header + ${pad} byte(s) of padding: F32 and I32 read exactly, from disk (sync and async) and from an offset Buffer`, async () => {
      const bytes = fileWith({ w: { dtype: 'F32', shape: [2, 3], bytes: f32(values) }, ids: { dtype: 'I32', shape: [3], bytes: i32(ids) } }, pad)
      const file = join(dir, `pad${pad}.safetensors`)
      writeFileSync(file, bytes)
      for (const st of [readSafetensorsSync(file), await readSafetensors(file)]) {
        assert.deepEqual([...st.tensors.get('w')!.data], values.map((v) => Math.fround(v)))
        assert.deepEqual([...st.tensors.get('ids')!.data], ids)
      }
      // A view that starts 1..3 bytes into a larger buffer, as Node's pooled Buffers do.
      for (const shift of [1, 2, 3]) {
        const big = new Uint8Array(bytes.length + shift)
        big.set(bytes, shift)
        assert.deepEqual([...decodeSafetensors(big.subarray(shift)).tensors.get('w')!.data], values.map((v) => Math.fround(v)))
      }
    })
  }

  test('a large unaligned file (not from the Buffer pool) reads exactly too', () => {
    const n = 100_000
    const xs = Array.from({ length: n }, (_, i) => i / 7)
    const file = join(dir, 'large.safetensors')
    writeFileSync(file, fileWith({ w: { dtype: 'F32', shape: [n], bytes: f32(xs) } }, 1))
    const data = readSafetensorsSync(file).tensors.get('w')!.data
    assert.equal(data.length, n)
    assert.equal(data[n - 1], Math.fround((n - 1) / 7))
  })
})

describe('non-finite weights', () => {
  for (const [what, v] of [['NaN', NaN], ['+infinity', Infinity], ['-infinity', -Infinity]] as const) {
    test(`a ${what} in a floating tensor is refused, naming the file, the tensor and the index`, () => {
      const bytes = fileWith({ 'ok.weight': { dtype: 'F32', shape: [2], bytes: f32([1, 2]) }, 'layer.0.q_lin.weight': { dtype: 'F32', shape: [2, 2], bytes: f32([0, 1, v, 3]) } }, 0)
      assert.throws(
        () => decodeSafetensors(bytes, 'model.safetensors'),
        (e: unknown) => e instanceof SafetensorsError && e.message === `model.safetensors: tensor "layer.0.q_lin.weight" holds ${what} (first at index 2 of 4); the file is corrupt or comes from a diverged training run`,
      )
      assert.equal(decodeSafetensors(bytes, 'x', { allowNonFinite: true }).tensors.get('layer.0.q_lin.weight')!.data[2], v)
    })
  }

  test('F16 and BF16 infinities are caught after conversion', () => {
    const half = new Uint8Array([0x00, 0x7c, 0x00, 0x3c]) // +inf, 1.0 in float16
    assert.throws(() => decodeSafetensors(fileWith({ h: { dtype: 'F16', shape: [2], bytes: half } }, 3), 'h.safetensors'), /tensor "h" holds \+infinity/)
    const bf = new Uint8Array([0xc0, 0x7f]) // NaN in bfloat16
    assert.throws(() => decodeSafetensors(fileWith({ b: { dtype: 'BF16', shape: [1], bytes: bf } }, 0), 'b.safetensors'), /tensor "b" holds NaN/)
  })
})
