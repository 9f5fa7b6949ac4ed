// Plain-string building blocks of the terminal UI (bars, sparklines, padded cells), kept apart
// from React so they can be tested and reused as they are.

const SPARKS = '▁▂▃▄▅▆▇█'

/** A progress bar of exactly `width` cells. */
export function bar(fraction: number, width: number): string {
  const w = Math.max(1, Math.floor(width))
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0))
  const full = Math.round(f * w)
  return '█'.repeat(full) + '░'.repeat(w - full)
}

/** The last `width` values as a sparkline, scaled between their minimum and maximum. */
export function sparkline(values: readonly number[], width: number): string {
  const v = values.filter(Number.isFinite).slice(-Math.max(0, Math.floor(width)))
  if (v.length === 0) return ''
  const lo = Math.min(...v)
  const hi = Math.max(...v)
  return v.map((x) => SPARKS[hi === lo ? 3 : Math.round(((x - lo) / (hi - lo)) * (SPARKS.length - 1))]).join('')
}

export function fit(s: string, width: number): string {
  if (width <= 0) return ''
  return s.length <= width ? s : width === 1 ? '…' : s.slice(0, width - 1) + '…'
}

/**
 * `s` broken into lines of at most `width` characters at spaces (a word longer than a line is
 * cut), continuation lines starting with `indent`: for messages that must be read whole.
 */
export function wrap(s: string, width: number, indent = '  '): string[] {
  const w = Math.max(indent.length + 8, Math.floor(width))
  const out: string[] = []
  let line = ''
  for (const word of s.split(' ')) {
    if (line === '') line = (out.length === 0 ? '' : indent) + word
    else if (line.length + 1 + word.length <= w) line += ' ' + word
    else {
      out.push(line)
      line = indent + word
    }
    while (line.length > w) {
      out.push(line.slice(0, w))
      line = indent + line.slice(w)
    }
  }
  out.push(line)
  return out
}

export const padEnd = (s: string, w: number) => fit(s, w).padEnd(w)
export const padStart = (s: string, w: number) => fit(s, w).padStart(w)

/** Seconds as `12s`, `3m05s`, `1h02m`. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** A rate with a sensible number of digits: 1234, 12.3, 0.42. */
export function rate(x: number): string {
  if (!Number.isFinite(x)) return '?'
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)
}
