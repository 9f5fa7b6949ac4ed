// A small seeded PRNG so that data order (shuffles, subsets, ratio splits, batch order) and sweep
// draws (random search, TPE) are the same on every run and machine: Math.random cannot be seeded,
// and a library could change its stream.
//
// Algorithm: mulberry32 (Tommy Ettinger, public domain; 32-bit state, period 2^32), the widely
// used reference version:
//   a = (a + 0x6D2B79F5) | 0
//   t = imul(a ^ (a >>> 15), 1 | a)
//   t = (t + imul(t ^ (t >>> 7), 61 | t)) ^ t
//   out = (t ^ (t >>> 14)) >>> 0
// Integers in [0, n) use rejection sampling, so shuffles have no modulo bias.
// Note: this is NOT numpy's PCG64, so `shuffle(seed=42)` here and `dataset.shuffle(seed=42)` in
// Python `datasets` give different orders (and `limit` different subsets); both are deterministic.

export class Rng {
  private state: number

  /** seed: any finite number; it is reduced to a uint32 (non-integers and negatives included). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`)
    this.state = seedToUint32(seed)
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (t ^ (t >>> 14)) >>> 0
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** Uniform integer in [0, n), 1 <= n <= 2^32, without bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`nextInt needs an integer n in [1, 2^32], got ${n}`)
    // Reject the top partial bucket of the 2^32 range.
    const limit = 4294967296 - (4294967296 % n)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % n
    }
  }

  /** Shuffles `items` in place (Fisher–Yates, from the end) and returns it. */
  shuffleInPlace<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1)
      const tmp = items[i]!
      items[i] = items[j]!
      items[j] = tmp
    }
    return items
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n)
    for (let i = 0; i < n; i++) p[i] = i
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1)
      const tmp = p[i]!
      p[i] = p[j]!
      p[j] = tmp
    }
    return p
  }
}

function seedToUint32(seed: number): number {
  // Integers up to 2^53 keep their low 32 bits plus a fold of the high bits, so seeds 1 and 2^32+1 differ.
  const s = Math.trunc(seed)
  const lo = s >>> 0
  const hi = Math.floor(Math.abs(s) / 4294967296) >>> 0
  return (lo ^ Math.imul(hi, 0x9e3779b1) ^ (s < 0 ? 0x85ebca6b : 0)) >>> 0
}

/**
 * Derives an independent-looking seed for a sub-stream (e.g. the data order of epoch 3) from a
 * base seed, so `new Rng(deriveSeed(seed, epoch))` differs per epoch yet is reproducible.
 * Mixing is murmur3's fmix32 over the inputs.
 */
export function deriveSeed(seed: number, ...streams: number[]): number {
  let h = seedToUint32(seed)
  for (const s of streams) {
    h = fmix32((h ^ Math.imul(seedToUint32(s) + 0x9e3779b9, 0x85ebca6b)) >>> 0)
  }
  return fmix32(h)
}

function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A shuffled copy of `items` (the input is left as is). */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  return new Rng(seed).shuffleInPlace(items.slice())
}
