// Unpadded ("varlen") execution. A padded batch [B, L] of SST-2 sentences is mostly padding (train
// batches: ~13 real tokens of ~35 per row), yet every linear layer, LayerNorm, GELU and dropout
// acts on each token on its own. So the models run those on the real tokens only, packed as rows
// [N, D], and lay them out padded [B, L, D] just for attention (the one place tokens meet), where
// the mask keeps padded keys from influencing real tokens. Results equal the padded computation:
// padded positions never reach a real token, and the head reads position 0 of each row.
// When position 0 of some row is padding (left padding, an empty row), transformers still reads
// that position's hidden state, so the layout then keeps every position ("dense") and stays exact.
import * as tf from '@tensorflow/tfjs-core'
import { registerMissingKernels } from '../backend/kernels.ts'

export class TokenLayout {
  private constructor(
    readonly batch: number,
    readonly length: number,
    /** Number of rows computed: the real tokens, or B * L when dense. */
    readonly count: number,
    /** int32 [count]: flat index b * L + l of each computed row (null when dense: all of them). */
    readonly rows: tf.Tensor1D | null,
    /** The same indices in JavaScript (null when dense). */
    readonly rowIndex: Int32Array | null,
    /** int32 [count]: position id of each row (its l). */
    readonly positions: tf.Tensor1D,
    /** int32 [B]: the row holding position 0 of each sequence. */
    readonly firstRows: tf.Tensor1D,
  ) {}

  /** Reads the [B, L] mask (non-zero = token) and lays out the rows to compute. */
  static fromMask(attentionMask: tf.Tensor): TokenLayout {
    const [b, l] = attentionMask.shape as [number, number]
    return TokenLayout.fromArray(attentionMask.dataSync(), b, l)
  }

  /** The same from the mask's values, row-major [b * l]. */
  static fromArray(m: ArrayLike<number>, b: number, l: number): TokenLayout {
    // gather's gradient (UnsortedSegmentSum) must exist on this backend
    registerMissingKernels(tf.getBackend())
    let real = 0
    let firstReal = true
    for (let i = 0; i < m.length; i++) if (m[i] !== 0) real++
    for (let r = 0; r < b; r++) if (m[r * l] === 0) firstReal = false
    if (!firstReal || real === b * l) {
      const pos = new Int32Array(b * l)
      for (let i = 0; i < pos.length; i++) pos[i] = i % l
      const first = Int32Array.from({ length: b }, (_, r) => r * l)
      return new TokenLayout(b, l, b * l, null, null, tf.tensor1d(pos, 'int32'), tf.tensor1d(first, 'int32'))
    }
    const rows = new Int32Array(real)
    const pos = new Int32Array(real)
    const first = new Int32Array(b)
    let n = 0
    for (let i = 0; i < m.length; i++) {
      if (m[i] === 0) continue
      if (i % l === 0) first[(i / l) | 0] = n
      rows[n] = i
      pos[n] = i % l
      n++
    }
    return new TokenLayout(b, l, real, tf.tensor1d(rows, 'int32'), rows, tf.tensor1d(pos, 'int32'), tf.tensor1d(first, 'int32'))
  }

  /**
   * This layout with its row indices read from `rows` (a kept copy of `this.rows`): for a layer
   * recomputed in the backward pass (activation checkpointing), after this one is disposed.
   */
  withRows(rows: tf.Tensor1D | null): TokenLayout {
    return new TokenLayout(this.batch, this.length, this.count, rows, this.rowIndex, this.positions, this.firstRows)
  }

  get dense(): boolean {
    return this.rows === null
  }

  /** Padded [B, L, D] -> the computed rows [count, D]. */
  toRows(x: tf.Tensor): tf.Tensor2D {
    const flat = tf.reshape(x, [this.batch * this.length, x.shape[x.shape.length - 1]!])
    return (this.rows ? selectRows(flat, this.rows, this.batch * this.length) : flat) as tf.Tensor2D
  }

  /** The rows [count, D] -> padded [B, L, D] with zeros at padded positions. */
  toPadded(x: tf.Tensor): tf.Tensor3D {
    const d = x.shape[x.shape.length - 1]!
    const full = this.rows ? placeRows(x, this.rows, this.batch * this.length) : x
    return tf.reshape(full, [this.batch, this.length, d])
  }

  /** [count, D] -> [B, D]: each sequence's position 0 (the token the heads read). */
  firstTokens(x: tf.Tensor): tf.Tensor2D {
    return selectRows(x, this.firstRows, this.count) as tf.Tensor2D
  }

  /** Token-wise values given as [B, L] (ids, token types) -> [count]. */
  select(values: tf.Tensor): tf.Tensor1D {
    const flat = tf.reshape(values, [this.batch * this.length]) as tf.Tensor1D
    return this.rows ? (tf.gather(flat, this.rows) as tf.Tensor1D) : flat
  }

  dispose(): void {
    tf.dispose([this.positions, this.firstRows])
    this.rows?.dispose()
  }
}

// out[i] = x[idx[i]] for distinct idx (each source row taken at most once), so the gradient is
// the reverse placement; both directions are a single gather or scatter of whole rows.
function selectRows(x: tf.Tensor, idx: tf.Tensor1D, total: number): tf.Tensor {
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([idx])
    return {
      value: tf.gather(input, idx),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.unsortedSegmentSum(dy, saved[0] as tf.Tensor1D, total),
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x)
}

// out[idx[i]] = x[i], zeros elsewhere ([total, ...]); the gradient takes the rows back.
function placeRows(x: tf.Tensor, idx: tf.Tensor1D, total: number): tf.Tensor {
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([idx])
    return {
      value: tf.unsortedSegmentSum(input, idx, total),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.gather(dy, saved[0] as tf.Tensor1D),
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x)
}
