// Small number formats shared by the plain logger, the Ink UI and the report.
export function duration(ms: number): string {
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

export function num(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x)
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(2)
  return x.toFixed(digits)
}

/** A learning rate, always in one form (`1.60e-4`, `2.00e-3`; `0` at the end of a decay), so values read alike everywhere. */
export function learningRate(x: number): string {
  return x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x)
}

export function bytes(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1000 && i < u.length - 1) (n /= 1000), i++
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`
}

/**
 * `x` without the float noise of arithmetic on multiples of `unit` (0.1 + 0.2 -> 0.3), for every
 * finite double: `toFixed` takes at most 100 digits, so a unit of 1e-121 (a learning rate of
 * 1e-120 on a chart) cannot be rounded with it; significant digits relative to `unit` can.
 */
export function roundToUnit(x: number, unit: number): number {
  if (x === 0 || !Number.isFinite(x) || !Number.isFinite(unit) || unit === 0) return x
  const digits = Math.floor(Math.log10(Math.abs(x))) - Math.floor(Math.log10(Math.abs(unit))) + 2
  const rounded = Number(x.toPrecision(Math.min(100, Math.max(1, digits))))
  return Number.isFinite(rounded) ? rounded : x // next to the largest double, rounding up overflows
}
