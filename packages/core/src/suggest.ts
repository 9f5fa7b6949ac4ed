// "Did you mean" for unknown keys and names: the closest candidate by edit distance, if close enough.
import { distance } from 'fastest-levenshtein'

export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  const w = word.toLowerCase()
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase())
    if (d < bestD) {
      best = c
      bestD = d
    }
  }
  // Allow about a third of the word to differ; beyond that a suggestion is noise.
  if (best === undefined || bestD > Math.max(2, Math.ceil(word.length / 3))) return undefined
  return best
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const c = closest(word, candidates)
  return c === undefined ? undefined : `did you mean \`${c}\`?`
}
