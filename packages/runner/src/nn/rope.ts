// Rotary position embeddings as transformers' Llama family computes them (modeling_rope_utils.py,
// apply_rotary_pos_emb): inv_freq = 1 / theta^(2i/d) in float32, rescaled by rope_scaling ("linear",
// "llama3"); the angle of position p is p * inv_freq (float32), emb = cat(freqs, freqs), and a head
// vector x becomes x cos + rotate_half(x) sin with rotate_half(x) = cat(-x2, x1) (halves, not
// interleaved). The float32 steps are replayed here with Math.fround so the tables equal torch's.
// Tables are built once per position in JavaScript; applying them is two multiplies and an add on
// the whole [tokens, heads, head_dim] tensor.
import * as tf from '@tensorflow/tfjs-core'

export type RopeScaling =
  | { readonly kind: 'linear'; readonly factor: number }
  | {
      readonly kind: 'llama3'
      readonly factor: number
      readonly lowFreqFactor: number
      readonly highFreqFactor: number
      readonly originalMaxPositionEmbeddings: number
    }

const f = Math.fround

/** inv_freq [headDim / 2] as torch computes it in float32 (default, linear or llama3 rope_type). */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling: RopeScaling | null): Float32Array {
  const half = headDim / 2
  const inv = new Float32Array(half)
  // 1.0 / (base ** (arange(0, dim, 2).float() / dim)); `1.0 / t` is t.reciprocal() in torch
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(f(theta), f((2 * i) / headDim))))
  if (!scaling) return inv
  if (scaling.kind === 'linear') {
    const factor = f(scaling.factor)
    return inv.map((v) => f(v / factor))
  }
  // transformers' _compute_llama3_parameters; python scalars meet float32 tensors as float32, and
  // `scalar / tensor` is tensor.reciprocal() * scalar.
  const factor = f(scaling.factor)
  const lo = f(scaling.lowFreqFactor)
  const hi = f(scaling.highFreqFactor)
  const old = f(scaling.originalMaxPositionEmbeddings)
  const lowFreqWavelen = f(scaling.originalMaxPositionEmbeddings / scaling.lowFreqFactor)
  const highFreqWavelen = f(scaling.originalMaxPositionEmbeddings / scaling.highFreqFactor)
  const twoPi = f(2 * Math.PI)
  const hiMinusLo = f(scaling.highFreqFactor - scaling.lowFreqFactor)
  return inv.map((v) => {
    const wavelen = f(f(1 / v) * twoPi)
    const llama = wavelen > lowFreqWavelen ? f(v / factor) : v
    const smooth = f(f(f(f(1 / wavelen) * old) - lo) / hiMinusLo)
    const smoothed = f(f(f(f(1 - smooth) * llama) / factor) + f(smooth * llama))
    const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen)
    return medium ? smoothed : llama
  })
}

/** cos and sign-folded sin tables by position, grown on demand (positions below `limit`). */
export class RopeTable {
  private cos = new Float32Array(0)
  private sin = new Float32Array(0)
  private positions = 0

  constructor(
    readonly invFreq: Float32Array,
    /** No position at or above it is tabled (max_position_embeddings). */
    readonly limit: number,
  ) {}

  get headDim(): number {
    return this.invFreq.length * 2
  }

  private grow(n: number): void {
    if (n <= this.positions) return
    const half = this.invFreq.length
    const size = Math.min(this.limit, Math.max(n, this.positions * 2, 64))
    const cos = new Float32Array(size * half)
    const sin = new Float32Array(size * half)
    cos.set(this.cos)
    sin.set(this.sin)
    for (let p = this.positions; p < size; p++) {
      for (let i = 0; i < half; i++) {
        const angle = f(p * this.invFreq[i]!)
        cos[p * half + i] = Math.cos(angle)
        sin[p * half + i] = Math.sin(angle)
      }
    }
    this.cos = cos
    this.sin = sin
    this.positions = size
  }

  /**
   * For each position, the rows [count, head_dim] of cos (cat(c, c)) and of sin with rotate_half's
   * sign folded in (cat(-s, s)), so that rope(x) = x * cos + swapHalves(x) * sinSigned.
   */
  rows(positions: ArrayLike<number>): { cos: Float32Array; sinSigned: Float32Array } {
    let max = -1
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!
      if (!(p >= 0 && p < this.limit) || !Number.isInteger(p)) throw new RangeError(`position id ${p} is outside [0, ${this.limit})`)
      if (p > max) max = p
    }
    this.grow(max + 1)
    const half = this.invFreq.length
    const d = 2 * half
    const cos = new Float32Array(positions.length * d)
    const sinSigned = new Float32Array(positions.length * d)
    for (let r = 0; r < positions.length; r++) {
      const src = positions[r]! * half
      const c = this.cos.subarray(src, src + half)
      const s = this.sin.subarray(src, src + half)
      cos.set(c, r * d)
      cos.set(c, r * d + half)
      sinSigned.set(s, r * d + half)
      for (let i = 0; i < half; i++) sinSigned[r * d + i] = -s[i]!
    }
    return { cos, sinSigned }
  }
}

/** cat(x2, x1) along the last axis: its own inverse and its own transpose. */
function swapHalves(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [a, b] = tf.split(x, 2, -1)
    return tf.concat([b!, a!], -1)
  })
}

/**
 * x [N, heads, head_dim] rotated by per-token tables cos, sinSigned [N, 1, head_dim] (RopeTable.rows):
 * x * cos + swapHalves(x) * sinSigned = x cos + rotate_half(x) sin. Gradient: the adjoint,
 * dy * cos + swapHalves(dy * sinSigned).
 */
export function applyRope(x: tf.Tensor, cos: tf.Tensor, sinSigned: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([cos, sinSigned])
    return {
      value: tf.tidy(() => tf.add(tf.mul(xx, cos), tf.mul(swapHalves(xx), sinSigned))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [c, s] = saved as [tf.Tensor, tf.Tensor]
        return tf.tidy(() => tf.add(tf.mul(dy, c), swapHalves(tf.mul(dy, s))))
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x)
}
