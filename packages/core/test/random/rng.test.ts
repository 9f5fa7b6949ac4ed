import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { deriveSeed, Rng, shuffle } from '../../src/random/rng.ts'

// Reference outputs of mulberry32, computed with an independent Python implementation of the
// published algorithm (mulberry32(0)() = 0.26642920868471265 is the commonly quoted first value).
describe('Rng (mulberry32)', () => {
  test('produces the reference mulberry32 stream', () => {
    const r0 = new Rng(0)
    assert.deepEqual([1, 2, 3, 4, 5].map(() => r0.nextUint32()), [1144304738, 1416247, 958946056, 627933444, 2007157716])
    const r42 = new Rng(42)
    assert.deepEqual([1, 2, 3, 4, 5].map(() => r42.nextUint32()), [2581720956, 1925393290, 3661312704, 2876485805, 750819978])
    assert.equal(new Rng(0).next(), 1144304738 / 4294967296)
  })

  test('Fisher–Yates permutation with rejection sampling matches the reference', () => {
    assert.deepEqual(Array.from(new Rng(42).permutation(10)), [1, 3, 9, 5, 2, 8, 4, 0, 7, 6])
    assert.deepEqual(shuffle(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], 42), ['b', 'd', 'j', 'f', 'c', 'i', 'e', 'a', 'h', 'g'])
  })

  test('shuffle leaves its input unchanged and keeps every element', () => {
    const items = Array.from({ length: 1000 }, (_, i) => i)
    const s = shuffle(items, 7)
    assert.deepEqual(items, Array.from({ length: 1000 }, (_, i) => i))
    assert.notDeepEqual(s, items)
    assert.deepEqual([...s].sort((a, b) => a - b), items)
    assert.deepEqual(shuffle(items, 7), s)
  })

  test('nextInt stays in range and covers it', () => {
    const r = new Rng(1)
    const seen = new Set<number>()
    for (let i = 0; i < 2000; i++) {
      const x = r.nextInt(7)
      assert.ok(x >= 0 && x < 7)
      seen.add(x)
    }
    assert.equal(seen.size, 7)
    assert.throws(() => r.nextInt(0), RangeError)
  })

  test('different seeds and derived seeds give different streams', () => {
    assert.notEqual(new Rng(1).nextUint32(), new Rng(2).nextUint32())
    assert.notEqual(new Rng(1).nextUint32(), new Rng(2 ** 32 + 1).nextUint32())
    const a = deriveSeed(42, 0)
    assert.notEqual(a, deriveSeed(42, 1))
    assert.notEqual(a, deriveSeed(43, 0))
    assert.equal(a, deriveSeed(42, 0))
  })
})
