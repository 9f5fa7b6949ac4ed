// Seeded pseudo-random numbers (xoshiro128**, seeded through splitmix32) for weight init and
// dropout masks: same seed, same numbers, on every backend, so training runs are reproducible.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0
  let z = state.s
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number
  private spare: number | null = null

  constructor(seed: number) {
    const st = { s: (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) | 0 }
    this.a = splitmix32(st)
    this.b = splitmix32(st)
    this.c = splitmix32(st)
    this.d = splitmix32(st)
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  /** A generator in this one's state: it draws the same numbers from here on. */
  clone(): Rng {
    const r = Object.create(Rng.prototype) as Rng
    r.a = this.a
    r.b = this.b
    r.c = this.c
    r.d = this.d
    r.spare = this.spare
    return r
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  /**
   * Inverted-dropout multipliers: out[i] = 0 where uniform() < rate, else keep — the same values
   * as calling uniform() per element, drawn with the generator inlined (dropout masks are the
   * bulk of the random numbers a training step uses: millions per step).
   */
  fillDropoutMask(out: Float32Array, rate: number, keep: number): void {
    // uniform() < rate  <=>  u32 < rate * 2^32 (both exact in double precision)
    const threshold = rate * 4294967296
    let a = this.a
    let b = this.b
    let c = this.c
    let d = this.d
    for (let i = 0; i < out.length; i++) {
      const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
      const t = b << 9
      c ^= a
      d ^= b
      b ^= c
      a ^= d
      c ^= t
      d = rotl(d, 11)
      out[i] = r < threshold ? 0 : keep
    }
    this.a = a
    this.b = b
    this.c = c
    this.d = d
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare
      this.spare = null
      return s
    }
    let u = 0
    while (u === 0) u = this.uniform()
    const v = this.uniform()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }

  /** An independent generator derived from this one (advances this one by one draw). */
  fork(): Rng {
    return new Rng(this.nextUint32())
  }

  fillNormal(n: number, mean: number, std: number): Float32Array {
    // Box-Muller producing both values of each pair (hot path for initialising large models).
    const out = new Float32Array(n)
    const twoPi = 2 * Math.PI
    let i = 0
    for (; i + 1 < n; i += 2) {
      let u = 0
      while (u === 0) u = this.uniform()
      const r = std * Math.sqrt(-2 * Math.log(u))
      const a = twoPi * this.uniform()
      out[i] = mean + r * Math.cos(a)
      out[i + 1] = mean + r * Math.sin(a)
    }
    if (i < n) out[i] = mean + std * this.normal()
    return out
  }

  fillUniform(n: number, low: number, high: number): Float32Array {
    const out = new Float32Array(n)
    const w = high - low
    for (let i = 0; i < n; i++) out[i] = low + w * this.uniform()
    return out
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
