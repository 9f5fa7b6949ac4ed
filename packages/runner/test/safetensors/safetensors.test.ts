import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, SafetensorsError } from '../../src/safetensors/index.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

/** Builds a file by hand (header JSON as given, then raw data), independent of our writer. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer)
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'bad.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${String(e)}`)
      assert.equal(e._tag, 'SafetensorsError')
      assert.equal(e.file, 'bad.safetensors')
      assert.match(e.message, /^bad\.safetensors: /)
      assert.match(e.message, pattern)
      return true
    },
  )
}

describe('safetensors reader', () => {
  test('reads a hand-built F32 file', () => {
    const f = decodeSafetensors(rawFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, f32Bytes([1, 2, 3, 4.5])))
    const w = f.tensors.get('w')!
    assert.deepEqual(w.shape, [2, 2])
    assert.equal(w.dtype, 'F32')
    assert.deepEqual([...w.data], [1, 2, 3, 4.5])
    assert.equal(f.metadata, null)
  })

  test('converts F16, BF16 and F64 to float32 and I64/I32 to int32', () => {
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555]).buffer) // 1, -2, 65504, 2^-24, ~1/3
    const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc040, 0x4049]).buffer) // 1, -3, 3.140625
    const f64 = new Uint8Array(new Float64Array([0.1, -1e10]).buffer)
    const i64 = new Uint8Array(new BigInt64Array([5n, -7n, 2147483647n]).buffer)
    const i32 = new Uint8Array(new Int32Array([-1, 9]).buffer)
    const data = new Uint8Array([...f64, ...i64, ...i32, ...half, ...bf])
    const header = {
      __metadata__: { format: 'pt' },
      d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
      l: { dtype: 'I64', shape: [3], data_offsets: [16, 40] },
      i: { dtype: 'I32', shape: [2], data_offsets: [40, 48] },
      h: { dtype: 'F16', shape: [5], data_offsets: [48, 58] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [58, 64] },
    }
    const f = decodeSafetensors(rawFile(header, data))
    assert.deepEqual(f.metadata, { format: 'pt' })
    assert.deepEqual([...f.tensors.get('h')!.data], [1, -2, 65504, 2 ** -24, Math.fround(0.333251953125)])
    assert.ok(f.tensors.get('h')!.data instanceof Float32Array)
    assert.deepEqual([...f.tensors.get('b')!.data], [1, -3, 3.140625])
    assert.deepEqual([...f.tensors.get('d')!.data], [Math.fround(0.1), -1e10])
    assert.ok(f.tensors.get('l')!.data instanceof Int32Array)
    assert.deepEqual([...f.tensors.get('l')!.data], [5, -7, 2147483647])
    assert.deepEqual([...f.tensors.get('i')!.data], [-1, 9])
  })

  test('accepts an empty file with only metadata and zero-sized tensors', () => {
    const f = decodeSafetensors(rawFile({ __metadata__: {}, e: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] } }))
    assert.deepEqual(f.tensors.get('e')!.shape, [0, 3])
  })

  describe('rejects corrupt files with a SafetensorsError naming the file and the problem', () => {
    const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }
    test('shorter than the 8-byte length', () => expectError(new Uint8Array(5), /too short/))
    test('header length above the 100 MB limit', () => expectError(rawFile(ok, f32Bytes([1, 2]), 200_000_000n), /exceeds the limit/))
    test('header length past the end of the file', () => expectError(rawFile(ok, new Uint8Array(0), 5000n), /truncated/))
    test('header that is not JSON', () => expectError(rawFile('{"w": nope}'), /not valid JSON/))
    test('header that is not an object', () => expectError(rawFile('[1, 2]'), /JSON object/))
    test('unknown dtype', () => expectError(rawFile({ w: { dtype: 'F8', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), /unknown dtype "F8"/))
    test('negative or fractional shape', () => expectError(rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /shape must be/))
    test('missing data_offsets', () => expectError(rawFile({ w: { dtype: 'F32', shape: [2] } }, f32Bytes([1, 2])), /data_offsets must be/))
    test('unknown entry field', () => expectError(rawFile({ w: { ...ok.w, extra: 1 } }, f32Bytes([1, 2])), /unknown field\(s\) extra/))
    test('byte length that does not match shape x dtype', () =>
      expectError(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32Bytes([1, 2])), /needs 12 bytes .* span 8/))
    test('offsets that end before they start', () =>
      expectError(rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, f32Bytes([1, 2])), /end before they start/))
    test('overlapping tensors', () =>
      expectError(
        rawFile(
          { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
          f32Bytes([1, 2, 3]),
        ),
        /"b".*overlap tensor "a"/,
      ))
    test('a gap between tensors', () =>
      expectError(
        rawFile(
          { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } },
          f32Bytes([1, 2, 3]),
        ),
        /gap of 4 bytes/,
      ))
    test('trailing bytes not covered by any tensor', () => expectError(rawFile(ok, f32Bytes([1, 2, 3])), /trailing bytes/))
    test('a file cut short inside the data', () => {
      const full = rawFile(ok, f32Bytes([1, 2]))
      expectError(full.subarray(0, full.length - 3), /run past the end of the data .* truncated/)
    })
    test('non-string metadata', () => expectError(rawFile({ __metadata__: { epoch: 3 } }), /__metadata__\.epoch must be a string/))
    test('an I64 value outside int32', () =>
      expectError(rawFile({ l: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(new BigInt64Array([1n << 40n]).buffer)), /does not fit in int32/))
  })

  test('a missing file is a SafetensorsError naming the path', async () => {
    await assert.rejects(readSafetensors('/nonexistent/model.safetensors'), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError)
      assert.match(e.message, /\/nonexistent\/model\.safetensors: does not exist/)
      return true
    })
  })

  test('a FIFO or a device in place of the weights is refused at once, not read forever', { timeout: 5_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-fifo-'))
    try {
      const fifo = join(dir, 'model.safetensors')
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
      await assert.rejects(readSafetensors(fifo), (e: unknown) => e instanceof SafetensorsError && /model\.safetensors: is a FIFO \(named pipe\), not a regular file/.test(e.message))
      await assert.rejects(readSafetensors('/dev/zero'), (e: unknown) => e instanceof SafetensorsError && /\/dev\/zero: is a character device, not a regular file/.test(e.message))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('safetensors writer', () => {
  test('lays out the header as the reference: sorted keys, metadata first, space padding to 8 bytes', () => {
    const bytes = encodeSafetensors({ b: { shape: [1], data: [2] }, a: { shape: [2], data: [1, 3] } }, { format: 'pt' })
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    assert.equal(n % 8, 0)
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n))
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}'
    assert.equal(header.trimEnd(), json)
    assert.equal(header, json + ' '.repeat(n - json.length))
    assert.deepEqual([...new Float32Array(bytes.slice(8 + n).buffer)], [1, 3, 2])
  })

  test('orders mixed dtypes by element size so each tensor stays aligned', () => {
    const bytes = encodeSafetensors({ h: { dtype: 'F16', shape: [1], data: [1] }, f: { dtype: 'F32', shape: [1], data: [1] }, l: { dtype: 'I64', shape: [1], data: [1] } })
    const f = decodeSafetensors(bytes)
    assert.deepEqual([...f.tensors.keys()], ['l', 'f', 'h'])
  })

  test('round-trips every writable dtype through the reader', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-'))
    try {
      const path = join(dir, 'x.safetensors')
      const vals = [0.5, -1.25, 3, 1e-3, 65504, -0]
      await writeSafetensors(
        path,
        new Map([
          ['f32', { shape: [2, 3], data: new Float32Array([1.1, 2.2, 3.3, -4.4, 5.5, 6.6]) }],
          ['f16', { dtype: 'F16' as const, shape: [6], data: vals }],
          ['bf16', { dtype: 'BF16' as const, shape: [3], data: [1, -3, 3.14159] }],
          ['i64', { dtype: 'I64' as const, shape: [3], data: [101, 0, -5] }],
          ['i32', { dtype: 'I32' as const, shape: [1, 1], data: [7] }],
          ['f64', { dtype: 'F64' as const, shape: [], data: [0.25] }],
        ]),
        { note: 'hi' },
      )
      const f = await readSafetensors(path)
      assert.deepEqual(f.metadata, { note: 'hi' })
      assert.deepEqual([...f.tensors.get('f32')!.data], [...new Float32Array([1.1, 2.2, 3.3, -4.4, 5.5, 6.6])])
      assert.deepEqual(f.tensors.get('f32')!.shape, [2, 3])
      // 1e-3 is not representable in half precision: nearest half is 0.0010004043579101562
      assert.deepEqual([...f.tensors.get('f16')!.data], [0.5, -1.25, 3, 0.0010004043579101562, 65504, -0])
      assert.deepEqual([...f.tensors.get('bf16')!.data], [1, -3, 3.140625])
      assert.deepEqual([...f.tensors.get('i64')!.data], [101, 0, -5])
      assert.deepEqual([...f.tensors.get('i32')!.data], [7])
      assert.deepEqual(f.tensors.get('f64')!.shape, [])
      assert.deepEqual([...f.tensors.get('f64')!.data], [0.25])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('writes atomically: replaces an existing file and leaves no temporary file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-'))
    try {
      const path = join(dir, 'm.safetensors')
      await writeFile(path, 'old contents')
      await writeSafetensors(path, { w: { shape: [1], data: [9] } })
      assert.deepEqual(await readdir(dir), ['m.safetensors'])
      assert.deepEqual([...(await readSafetensors(path)).tensors.get('w')!.data], [9])
      // A parent that is a file cannot hold the target: the error is a SafetensorsError, not a crash.
      await assert.rejects(writeSafetensors(join(path, 'x.safetensors'), { w: { shape: [1], data: [1] } }), SafetensorsError)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('rejects data whose length does not match the shape', () => {
    assert.throws(() => encodeSafetensors({ w: { shape: [2, 2], data: [1, 2, 3] } }), /needs 4 values, got 3/)
  })
})

describe('safetensors fixtures', () => {
  test('reads the tiny DistilBERT checkpoint', { skip: needsShared }, async () => {
    const f = await readSafetensors(shared('fixtures/tiny-distilbert/model.safetensors'))
    assert.equal(f.tensors.size, 40)
    assert.deepEqual(f.tensors.get('distilbert.embeddings.word_embeddings.weight')!.shape, [30522, 32])
    assert.deepEqual(f.tensors.get('distilbert.transformer.layer.1.ffn.lin1.weight')!.shape, [64, 32])
    assert.deepEqual(f.tensors.get('classifier.weight')!.shape, [2, 32])
  })

  test('reads the golden adapter and gradients; our writer reproduces the same tensors', { skip: needsShared }, async () => {
    const path = shared('fixtures/golden/lora-adapter/adapter_model.safetensors')
    const f = await readSafetensors(path)
    assert.equal(f.tensors.size, 12)
    assert.deepEqual(f.tensors.get('base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_A.weight')!.shape, [4, 32])
    const again = decodeSafetensors(encodeSafetensors(new Map([...f.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]))))
    for (const [k, t] of f.tensors) assert.deepEqual([...again.tensors.get(k)!.data], [...t.data], k)
    const bytes = await readFile(shared('fixtures/golden/bert-lora-grads.safetensors'))
    assert.equal(decodeSafetensors(bytes).tensors.size, 10)
  })
})
