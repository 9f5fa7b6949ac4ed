// How sweep parameters are named and shown in tables (terminal UI, plain summary, report):
// short column titles for pipeline paths, and values as compact text.

/** Short column titles for parameter paths: the last segment, unless two would clash. */
export function paramTitles(names: readonly string[]): string[] {
  const last = names.map((n) => n.split('.').at(-1) ?? n)
  return names.map((n, i) => (last.filter((l) => l === last[i]).length > 1 ? n.split('.').slice(-2).join('.') : last[i]!))
}

/** A parameter value in a cell: numbers short, lists and objects as compact flow text. */
export function paramValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5 ? v.toExponential(2) : String(Number(v.toPrecision(4)))
  if (typeof v === 'string') return v
  if (Array.isArray(v)) return `[${v.map(paramValue).join(',')}]`
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}:${paramValue(x)}`).join(',')}}`
  return String(v)
}
