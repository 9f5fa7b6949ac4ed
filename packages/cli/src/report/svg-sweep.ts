// The sweep report's charts as inline SVG: parallel coordinates (one axis per parameter and one
// for the objective, a line per trial coloured by its objective), and a scatter of one parameter
// against the objective. Like svg-chart.ts: no scripts, no xmlns, one self-contained page.
import { escapeXml as esc, PALETTE } from './svg-chart.ts'
import { valueAxis } from './svg-axis.ts'

export interface SweepPoint {
  readonly label: string
  readonly values: Readonly<Record<string, unknown>>
  readonly objective?: number
  readonly state: string
  readonly best?: boolean
}

const round = (x: number) => Math.round(x * 100) / 100

/** Objective to colour: the worst trials light, the best dark (a single-hue blue ramp). */
export function objectiveColor(t: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0))
  const mix = (a: number, b: number) => Math.round(a + (b - a) * f)
  const [r, g, b] = [mix(0xc6, 0x08), mix(0xdb, 0x30), mix(0xef, 0x6b)]
  return `#${[r, g, b].map((x) => x.toString(16).padStart(2, '0')).join('')}`
}

const BEST = PALETTE[1]!
const FAILED = '#bbbbbb'

/** 0 for the worst objective, 1 for the best, by the goal. */
function rank(points: readonly SweepPoint[], goal: 'minimize' | 'maximize'): (v: number | undefined) => number {
  const vs = points.map((p) => p.objective).filter((v): v is number => v !== undefined && Number.isFinite(v))
  const lo = Math.min(...vs)
  const hi = Math.max(...vs)
  return (v) => (v === undefined || !Number.isFinite(v) || hi === lo ? 0.5 : goal === 'maximize' ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo))
}

const cut = (s: string, n: number) => (s.length <= n ? s : s.slice(0, n - 1) + '…')

/** What every sweep chart is drawn from. */
interface SweepChartInput {
  readonly metric: string
  readonly goal: 'minimize' | 'maximize'
  readonly points: readonly SweepPoint[]
  readonly width?: number
  readonly height?: number
  /** Parameters drawn on a log scale by the sweep (`log_uniform_values`): a log axis each. */
  readonly logParameters?: readonly string[]
}

export function parallelCoordinates(opts: SweepChartInput & { readonly parameters: readonly string[] }): string {
  const width = opts.width ?? 1080
  const height = opts.height ?? 360
  const top = 48
  const bottom = height - 28
  const left = 90
  const right = width - 90
  const axes = [...opts.parameters, opts.metric]
  const x = (i: number) => (axes.length === 1 ? (left + right) / 2 : left + (i * (right - left)) / (axes.length - 1))
  const valuesOf = (p: SweepPoint, a: string, i: number) => (i === axes.length - 1 ? p.objective : p.values[a])
  const scales = axes.map((a, i) => valueAxis(opts.points.map((p) => valuesOf(p, a, i)), { log: i < axes.length - 1 && (opts.logParameters ?? []).includes(a) }))
  const y = (f: number) => bottom - f * (bottom - top)
  const toColor = rank(opts.points, opts.goal)
  const parts: string[] = [`<text x="${left}" y="18" font-size="14" font-weight="600">Parameters and ${esc(opts.metric)}, one line per trial</text>`]
  // Lines first (worst under best), then axes over them.
  const order = [...opts.points].sort((a, b) => (a.best ? 1 : 0) - (b.best ? 1 : 0) || toColor(a.objective) - toColor(b.objective))
  for (const p of order) {
    const coords = axes.flatMap((a, i) => {
      const f = scales[i]!.pos(valuesOf(p, a, i))
      return f === undefined ? [] : [[x(i), y(f)] as const]
    })
    if (coords.length < 2) continue
    const color = p.best ? BEST : p.objective === undefined ? FAILED : objectiveColor(toColor(p.objective))
    const d = coords.map(([cx, cy], j) => `${j === 0 ? 'M' : 'L'}${round(cx)} ${round(cy)}`).join(' ')
    parts.push(
      `<path class="trial-line" data-trial="${esc(p.label)}" d="${d}" fill="none" stroke="${color}" stroke-width="${p.best ? 3 : 1.6}"${p.state === 'pruned' ? ' stroke-dasharray="5 3"' : ''} opacity="${p.best ? 1 : 0.85}"><title>${esc(
        `${p.label} (${p.state})${p.objective !== undefined ? `: ${opts.metric} ${p.objective}` : ''}`,
      )}</title></path>`,
    )
  }
  axes.forEach((a, i) => {
    const ax = round(x(i))
    parts.push(`<line class="axis" x1="${ax}" x2="${ax}" y1="${top}" y2="${bottom}" stroke="#444"/>`)
    parts.push(`<text x="${ax}" y="${top - 12}" text-anchor="middle" font-size="12" font-weight="600" fill="#222">${esc(cut(a, 22))}</text>`)
    for (const t of scales[i]!.ticks) {
      const ty = round(y(t.at))
      parts.push(`<line x1="${ax - 4}" x2="${ax}" y1="${ty}" y2="${ty}" stroke="#444"/>`)
      parts.push(`<text x="${ax - 7}" y="${ty + 4}" text-anchor="end" font-size="11" fill="#444" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(cut(t.label, 18))}</text>`)
    }
  })
  return `<svg class="chart parallel" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" font-family="system-ui, sans-serif">${parts.join('')}</svg>`
}

export function scatter(opts: SweepChartInput & { readonly parameter: string }): string {
  const width = opts.width ?? 340
  const height = opts.height ?? 260
  const plot = { left: 62, right: width - 16, top: 30, bottom: height - 58 }
  const pts = opts.points.filter((p) => p.objective !== undefined && Number.isFinite(p.objective))
  const xa = valueAxis(pts.map((p) => p.values[opts.parameter]), { log: (opts.logParameters ?? []).includes(opts.parameter) })
  const ya = valueAxis(pts.map((p) => p.objective))
  const sx = (f: number) => plot.left + f * (plot.right - plot.left)
  const sy = (f: number) => plot.bottom - f * (plot.bottom - plot.top)
  const parts: string[] = [`<text x="${plot.left}" y="18" font-size="13" font-weight="600">${esc(cut(opts.parameter, 40))}</text>`]
  for (const t of ya.ticks) {
    const ty = round(sy(t.at))
    parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${ty}" y2="${ty}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${plot.left - 6}" y="${ty + 4}" text-anchor="end" font-size="11" fill="#444">${esc(t.label)}</text>`)
  }
  for (const t of xa.ticks) {
    const tx = round(sx(t.at))
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${plot.bottom}" y2="${plot.bottom + 5}" stroke="#444"/>`)
    parts.push(`<text x="${tx}" y="${plot.bottom + 18}" text-anchor="middle" font-size="11" fill="#444">${esc(cut(t.label, 14))}</text>`)
  }
  parts.push(`<line class="axis" x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.bottom}" stroke="#444"/>`)
  parts.push(`<line class="axis" x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}" stroke="#444"/>`)
  parts.push(`<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 36}" text-anchor="middle" font-size="12" fill="#222">${esc(cut(opts.parameter, 40))}${xa.kind === 'log' ? ' (log)' : ''}</text>`)
  parts.push(`<text x="14" y="${(plot.top + plot.bottom) / 2}" text-anchor="middle" font-size="12" fill="#222" transform="rotate(-90 14 ${(plot.top + plot.bottom) / 2})">${esc(opts.metric)}</text>`)
  // Trials that share a category are spread a little sideways so each stays visible.
  const seen = new Map<string, number>()
  for (const p of pts) {
    const fx = xa.pos(p.values[opts.parameter])
    const fy = ya.pos(p.objective)
    if (fx === undefined || fy === undefined) continue
    const key = `${fx}`
    const k = seen.get(key) ?? 0
    seen.set(key, k + 1)
    const jitter = xa.kind === 'category' ? ((k % 5) - 2) * 3 : 0
    const color = p.best ? BEST : PALETTE[0]
    parts.push(
      `<circle class="trial-point" cx="${round(sx(fx) + jitter)}" cy="${round(sy(fy))}" r="${p.best ? 5.5 : 4}" fill="${p.state === 'pruned' ? '#fff' : color}" stroke="${color}" stroke-width="2"><title>${esc(`${p.label} (${p.state}): ${opts.metric} ${p.objective}`)}</title></circle>`,
    )
  }
  return `<svg class="chart scatter" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" font-family="system-ui, sans-serif">${parts.join('')}</svg>`
}
