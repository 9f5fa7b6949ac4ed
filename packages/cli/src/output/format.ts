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

export function bytes(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1000 && i < u.length - 1) (n /= 1000), i++
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`
}
