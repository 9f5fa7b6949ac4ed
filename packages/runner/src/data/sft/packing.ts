// Packing of short examples into sequences of at most max_length tokens, TRL's default strategy
// (`packing=True`, packing_strategy "bfd"): best-fit decreasing. Examples are taken longest first
// (ties in row order) and each goes into the open sequence with the least room that still fits it
// (among equals, the one that got that room first), else starts a new one; the same bins, in the
// same order, as TRL's _pack_bfd with its segment tree.
//
// TRL then flattens a batch into one row with position ids restarting at each example and relies
// on flash attention's variable-length kernels to keep the examples apart. Without flash
// attention here, each sequence carries its examples' lengths (`segments`): the collator turns
// them into position ids that restart at 0 and segment ids, and the model attends only within a
// segment (block-diagonal causal mask), so a packed batch computes exactly what the examples
// would one by one. As TRL does, the first token of each example gets label -100 (it must not be
// predicted from the previous example's last token).
import { DatasetError } from '../errors.ts'
import { IGNORE_INDEX, type SftExample } from './encode.ts'

/** A training sequence: one example, or several packed ones (their lengths in `segments`, in order). */
export interface SftSequence {
  inputIds: Int32Array
  labels: Int32Array
  /** Lengths of the examples in this sequence; absent means one example of the whole length. */
  segments?: Int32Array
}

export interface PackingStats {
  /** Examples packed. */
  examples: number
  /** Sequences made. */
  sequences: number
  /** Tokens / (sequences * maxLength): how full the sequences are. */
  fill: number
}

/** Max over [1..size] of the room values present: finds the smallest room >= a length in O(log size). */
class RoomTree {
  private readonly leaves: number
  private readonly tree: Int32Array

  constructor(readonly size: number) {
    let leaves = 1
    while (leaves < size) leaves <<= 1
    this.leaves = leaves
    this.tree = new Int32Array(2 * leaves)
  }

  private setLeaf(room: number, value: number): void {
    let i = this.leaves + room - 1
    this.tree[i] = value
    while (i > 1) {
      i >>= 1
      const l = this.tree[2 * i]!
      const r = this.tree[2 * i + 1]!
      this.tree[i] = l >= r ? l : r
    }
  }

  add(room: number): void {
    if (room > 0 && room <= this.size) this.setLeaf(room, room)
  }

  remove(room: number): void {
    if (room > 0 && room <= this.size) this.setLeaf(room, 0)
  }

  /** The smallest room present that is >= need (need <= size; `size` itself is always present). */
  search(need: number): number {
    let i = 1
    while (i < this.leaves) i = this.tree[2 * i]! >= need ? 2 * i : 2 * i + 1
    return this.tree[i]!
  }
}

/** Packs examples (each at most maxLength tokens: truncate first) into sequences by best-fit decreasing. */
export function packExamples(examples: readonly SftExample[], maxLength: number): { sequences: SftSequence[]; stats: PackingStats } {
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new DatasetError({ file: '', message: `packing needs an integer max_length of at least 2, got ${maxLength}` })
  const order = examples.map((e, i) => i)
  for (const e of examples) {
    if (e.inputIds.length > maxLength) throw new DatasetError({ file: e.origin.file, message: `an example of ${e.inputIds.length} tokens (${e.origin.file}:${e.origin.where}) is longer than max_length ${maxLength}; truncate before packing` })
  }
  // Stable sort: equal lengths keep row order, as pyarrow's sort does.
  order.sort((a, b) => examples[b]!.inputIds.length - examples[a]!.inputIds.length || a - b)
  const tree = new RoomTree(maxLength)
  tree.add(maxLength)
  const byRoom = new Map<number, { ids: number[]; length: number }[]>()
  const bins: { ids: number[]; length: number }[] = []
  for (const idx of order) {
    const length = examples[idx]!.inputIds.length
    let room = tree.search(length)
    let bin: { ids: number[]; length: number }
    if (room < maxLength) {
      const queue = byRoom.get(room)!
      bin = queue.shift()!
      if (queue.length === 0) {
        byRoom.delete(room)
        tree.remove(room)
      }
    } else {
      bin = { ids: [], length: 0 }
      bins.push(bin)
    }
    bin.ids.push(idx)
    bin.length += length
    room -= length
    const queue = byRoom.get(room)
    if (queue) queue.push(bin)
    else byRoom.set(room, [bin])
    if (room > 0) tree.add(room)
  }
  let tokens = 0
  const sequences = bins.map((bin): SftSequence => {
    const inputIds = new Int32Array(bin.length)
    const labels = new Int32Array(bin.length)
    const segments = new Int32Array(bin.ids.length)
    let at = 0
    bin.ids.forEach((idx, k) => {
      const e = examples[idx]!
      inputIds.set(e.inputIds, at)
      labels.set(e.labels, at)
      labels[at] = IGNORE_INDEX
      segments[k] = e.inputIds.length
      at += e.inputIds.length
    })
    tokens += bin.length
    return { inputIds, labels, segments }
  })
  return { sequences, stats: { examples: examples.length, sequences: sequences.length, fill: sequences.length === 0 ? 0 : tokens / (sequences.length * maxLength) } }
}
