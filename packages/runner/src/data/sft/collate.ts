// Batches for causal-LM training and evaluation, as TRL's DataCollatorForLanguageModeling builds
// them: right padding to the longest sequence of the batch (or a multiple of pad_to_multiple_of)
// with the pad id, attention mask 0 and label -100 on padding. Besides, for packed sequences and
// for a model that masks by segment: position ids (restarting at 0 at each packed example; a
// plain row gets 0..L-1, padding continuing the count, as transformers numbers a right-padded row)
// and segment ids (1, 2, ... per example in the row, 0 on padding): the model may let a token
// attend to another only in the same segment and not later (block-diagonal causal mask).
import { DatasetError } from '../errors.ts'
import { IGNORE_INDEX } from './encode.ts'
import type { SftSequence } from './packing.ts'

/** A padded batch, row-major [batchSize, seqLen]. */
export interface CausalLmBatch {
  batchSize: number
  seqLen: number
  inputIds: Int32Array
  /** 1 on real tokens, 0 on padding. */
  attentionMask: Int32Array
  /** Targets, not shifted (the loss shifts them by one); -100 where no loss is taken. */
  labels: Int32Array
  positionIds: Int32Array
  /** 1.. per example within a row, 0 on padding. */
  segmentIds: Int32Array
  /** Real tokens per row. */
  lengths: Int32Array
  /**
   * Tokens the loss counts: labels other than -100 past each row's first position (the shift).
   * transformers divides the summed loss of accumulated micro-batches by their total.
   */
  labelledTokens: number
}

export interface CollateOptions {
  /** Rows to take, by index into the sequences (default: all, in order). */
  indices?: ArrayLike<number>
  /** Pad the length up to a multiple of this (TRL's pad_to_multiple_of). */
  padToMultipleOf?: number
}

/** Pads sequences (examples, or packed sequences) into one batch. */
export function collateCausalLm(sequences: readonly SftSequence[], padId: number, options: CollateOptions = {}): CausalLmBatch {
  const { indices, padToMultipleOf } = options
  const batchSize = indices ? indices.length : sequences.length
  const pick = (r: number): SftSequence => {
    const s = sequences[indices ? indices[r]! : r]
    if (s === undefined) throw new DatasetError({ file: '', message: `collate index ${indices ? indices[r] : r} is out of range (0..${sequences.length - 1})` })
    return s
  }
  let seqLen = 0
  const lengths = new Int32Array(batchSize)
  for (let r = 0; r < batchSize; r++) {
    lengths[r] = pick(r).inputIds.length
    if (lengths[r]! > seqLen) seqLen = lengths[r]!
  }
  if (padToMultipleOf !== undefined && padToMultipleOf > 1) seqLen = Math.ceil(seqLen / padToMultipleOf) * padToMultipleOf
  const n = batchSize * seqLen
  const inputIds = new Int32Array(n).fill(padId)
  const attentionMask = new Int32Array(n)
  const labels = new Int32Array(n).fill(IGNORE_INDEX)
  const positionIds = new Int32Array(n)
  const segmentIds = new Int32Array(n)
  let labelledTokens = 0
  for (let r = 0; r < batchSize; r++) {
    const s = pick(r)
    const off = r * seqLen
    const len = s.inputIds.length
    inputIds.set(s.inputIds, off)
    labels.set(s.labels, off)
    attentionMask.fill(1, off, off + len)
    for (let t = 1; t < len; t++) if (s.labels[t] !== IGNORE_INDEX) labelledTokens++
    const segments = s.segments ?? [len]
    let t = 0
    let segment = 0
    for (const segLen of segments) {
      segment++
      for (let k = 0; k < segLen; k++, t++) {
        positionIds[off + t] = k
        segmentIds[off + t] = segment
      }
    }
    if (t !== len) throw new DatasetError({ file: '', message: `a packed sequence of ${len} tokens has segments summing to ${t}` })
    const last = segments.length > 0 ? segments[segments.length - 1]! : 0
    for (let k = 0; t < seqLen; k++, t++) positionIds[off + t] = last + k
  }
  return { batchSize, seqLen, inputIds, attentionMask, labels, positionIds, segmentIds, lengths, labelledTokens }
}
