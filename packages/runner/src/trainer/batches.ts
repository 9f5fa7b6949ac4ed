// The order in which training examples form batches, epoch by epoch. Each epoch gets its own
// permutation from a seeded stream (deriveSeed(seed, DATA_STREAM, epoch)), so any epoch's order
// can be recomputed on resume without replaying the earlier ones.
import { Rng, deriveSeed } from '../data/rng.ts'

/** Stream ids for deriveSeed, so the data order and dropout masks never share random numbers. */
export const DATA_STREAM = 0x0da7a
export const DROPOUT_STREAM = 0xd50

export interface BatchOrderOptions {
  readonly batchSize: number
  readonly seed: number
  /** Shuffle every epoch (transformers' RandomSampler); false keeps the dataset order. */
  readonly shuffle: boolean
  /** Unpadded lengths: group examples of similar length (LengthGroupedSampler). */
  readonly lengths?: ArrayLike<number>
}

function chunk(order: ArrayLike<number>, size: number): Int32Array[] {
  const out: Int32Array[] = []
  for (let i = 0; i < order.length; i += size) out.push(Int32Array.from({ length: Math.min(size, order.length - i) }, (_, k) => order[i + k]!))
  return out
}

/**
 * The batches (example indices) of one epoch. With `lengths`, as transformers'
 * LengthGroupedSampler: a random permutation cut into megabatches of 50 batches, each sorted by
 * length (longest first) and cut into batches, so a batch holds similar lengths (less padding)
 * while the epoch stays randomised by the seed.
 */
export function epochBatches(n: number, epoch: number, o: BatchOrderOptions): Int32Array[] {
  const rng = new Rng(deriveSeed(o.seed, DATA_STREAM, epoch))
  const order = o.shuffle || o.lengths ? rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i)
  if (!o.lengths) return chunk(order, o.batchSize)
  const lengths = o.lengths
  const mega = o.batchSize * 50
  const grouped = new Int32Array(n)
  for (let s = 0; s < n; s += mega) {
    const part = Array.from(order.subarray(s, Math.min(n, s + mega)))
    part.sort((a, b) => lengths[b]! - lengths[a]! || a - b)
    grouped.set(part, s)
  }
  return chunk(grouped, o.batchSize)
}

/** Seed of the dropout masks of one micro-batch: independent of everything before it, so resume replays it exactly. */
export function dropoutSeed(seed: number, microStep: number): number {
  return deriveSeed(seed, DROPOUT_STREAM, microStep)
}
