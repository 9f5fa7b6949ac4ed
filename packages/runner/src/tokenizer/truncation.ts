// Truncation of one or two token sequences to a length budget, with the exact rules of the Rust
// `tokenizers` crate (what `transformers`' fast tokenizers run with truncation=True), so that ids
// match Python for sentence pairs too. Only right-side truncation, no stride/overflow.
export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second'

/**
 * Lengths to keep of sequence A and (optional) B so that keepA + keepB <= budget.
 * Returns a string describing why it is impossible (only_first / only_second on a too-short sequence).
 */
export function truncatedLengths(
  lenA: number,
  lenB: number | undefined,
  budget: number,
  strategy: TruncationStrategy,
): { keepA: number; keepB: number } | string {
  const total = lenA + (lenB ?? 0)
  if (total <= budget) return { keepA: lenA, keepB: lenB ?? 0 }
  const toRemove = total - budget
  if (strategy === 'longest_first') {
    if (lenB === undefined) return { keepA: budget, keepB: 0 }
    // tokenizers/src/utils/truncation.rs: give the shorter one all it needs up to half the budget,
    // the longer one the rest; when both exceed half, split evenly with the odd token going to the
    // longer sequence (to B when they are equally long).
    let n1 = lenA
    let n2 = lenB
    const swap = n1 > n2
    if (swap) [n1, n2] = [n2, n1]
    n2 = n1 > budget ? n1 : Math.max(n1, budget - n1)
    if (n1 + n2 > budget) {
      n1 = Math.floor(budget / 2)
      n2 = n1 + (budget % 2)
    }
    if (swap) [n1, n2] = [n2, n1]
    return { keepA: Math.min(lenA, n1), keepB: Math.min(lenB, n2) }
  }
  if (strategy === 'only_second' && lenB === undefined) {
    return 'truncation only_second needs a second sequence (text pair), but this example has none'
  }
  const targetLen = strategy === 'only_first' ? lenA : lenB!
  if (targetLen <= toRemove) {
    const which = strategy === 'only_first' ? 'first' : 'second'
    return `truncation ${strategy}: the ${which} sequence has ${targetLen} tokens, too few to remove the ${toRemove} needed to fit; use truncation longest_first or a larger max_length`
  }
  return strategy === 'only_first'
    ? { keepA: lenA - toRemove, keepB: lenB ?? 0 }
    : { keepA: lenA, keepB: lenB! - toRemove }
}
