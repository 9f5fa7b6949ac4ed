// Line charts as SVG text, for the run report: axes with "nice" ticks, axis labels, a legend and
// any number of series (overlaid methods). Inline SVG without an xmlns attribute, so the report
// stays one file with no reference to anything outside it.
import { roundToUnit } from '../output/format.ts'

export type Point = readonly [x: number, y: number]

export interface Series {
  readonly name: string
  readonly points: readonly Point[]
  readonly color?: string
  readonly dashed?: boolean
  /** Draw a dot at each point (evaluations: few points that matter one by one). */
  readonly markers?: boolean
}

export interface ChartOptions {
  readonly title?: string
  readonly xLabel?: string
  readonly yLabel?: string
  readonly series: readonly Series[]
  readonly width?: number
  readonly height?: number
  /** Force the y range to include these (e.g. 0 and 1 for accuracy). */
  readonly yInclude?: readonly number[]
  readonly formatY?: (y: number) => string
  readonly formatX?: (x: number) => string
}

/** Colour-blind-friendly palette (Okabe-Ito), in the order series get them. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442']

export const MARGIN = { left: 72, right: 20, top: 34, bottom: 46 }
const LEGEND_ROW = 18

/**
 * About `target` round tick values (steps of 1, 2 or 5 times a power of ten) covering [min, max].
 * The first tick is <= min and the last >= max.
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return []
  if (max < min) [min, max] = [max, min]
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1
    ;[min, max] = [min - pad, max + pad]
  }
  const raw = (max - min) / Math.max(1, target)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw * (1 - 1e-9)) ?? 10) * mag
  const lo = Math.floor(min / step + 1e-9) * step
  const hi = Math.ceil(max / step - 1e-9) * step
  const out: number[] = []
  // Round away the float noise of repeated addition (0.1 + 0.2 ...), at any magnitude.
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) out.push(roundToUnit(lo + i * step, step))
  return out
}

/** Maps [d0, d1] linearly onto [r0, r1]. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0)
  return (x) => r0 + (x - d0) * k
}

const round = (x: number) => Math.round(x * 100) / 100

/** SVG path data through the points (non-finite points are left out). */
export function pathData(points: readonly Point[], sx: (x: number) => number, sy: (y: number) => number): string {
  return points
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
    .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${round(sx(x))} ${round(sy(y))}`)
    .join(' ')
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/** Short tick labels: 0.001, 1.5, 2000, 1.2e-5. */
export function tickLabel(x: number): string {
  if (x === 0) return '0'
  const a = Math.abs(x)
  if (a < 1e-3 || a >= 1e6) return x.toExponential(1).replace('e+', 'e')
  return String(Number(x.toPrecision(6)))
}

export function lineChart(opts: ChartOptions): string {
  const width = opts.width ?? 520
  const height = opts.height ?? 300
  const series = opts.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length]!, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }))
  const legendRows = series.length > 1 ? Math.ceil(series.length / 3) : 0
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    right: width - MARGIN.right,
    bottom: height - MARGIN.bottom - legendRows * LEGEND_ROW,
  }
  const xs = series.flatMap((s) => s.points.map((p) => p[0]))
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...(opts.yInclude ?? [])]
  const title = opts.title ? `<text class="chart-title" x="${plot.left}" y="${MARGIN.top - 14}" font-size="14" font-weight="600">${escapeXml(opts.title)}</text>` : ''
  if (xs.length === 0) {
    return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#888">no data</text></svg>`
  }
  const xt = niceTicks(Math.min(...xs), Math.max(...xs), 6)
  const yt = niceTicks(Math.min(...ys), Math.max(...ys), 5)
  const sx = linearScale(xt[0]!, xt.at(-1)!, plot.left, plot.right)
  const sy = linearScale(yt[0]!, yt.at(-1)!, plot.bottom, plot.top)
  const fx = opts.formatX ?? tickLabel
  const fy = opts.formatY ?? tickLabel
  const parts: string[] = [title]
  // Grid and ticks.
  for (const y of yt) {
    const py = round(sy(y))
    parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${plot.left - 6}" y="${py + 4}" text-anchor="end" font-size="11" fill="#444">${escapeXml(fy(y))}</text>`)
  }
  for (const x of xt) {
    const px = round(sx(x))
    parts.push(`<line x1="${px}" x2="${px}" y1="${plot.bottom}" y2="${plot.bottom + 5}" stroke="#444"/>`)
    parts.push(`<text x="${px}" y="${plot.bottom + 18}" text-anchor="middle" font-size="11" fill="#444">${escapeXml(fx(x))}</text>`)
  }
  // Axes.
  parts.push(`<line class="axis" x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.bottom}" stroke="#444"/>`)
  parts.push(`<line class="axis" x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}" stroke="#444"/>`)
  if (opts.xLabel) parts.push(`<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 36}" text-anchor="middle" font-size="12" fill="#222">${escapeXml(opts.xLabel)}</text>`)
  if (opts.yLabel)
    parts.push(`<text x="14" y="${(plot.top + plot.bottom) / 2}" text-anchor="middle" font-size="12" fill="#222" transform="rotate(-90 14 ${(plot.top + plot.bottom) / 2})">${escapeXml(opts.yLabel)}</text>`)
  // Series.
  for (const s of series) {
    const d = pathData(s.points, sx, sy)
    if (s.points.length > 1) parts.push(`<path class="series" data-name="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`)
    if (s.markers || s.points.length === 1)
      for (const [x, y] of s.points) parts.push(`<circle cx="${round(sx(x))}" cy="${round(sy(y))}" r="3" fill="${s.color}"><title>${escapeXml(`${s.name}: ${fx(x)}, ${fy(y)}`)}</title></circle>`)
  }
  // Legend, below the x axis, three entries a row.
  if (legendRows > 0) {
    const colW = (plot.right - plot.left) / 3
    series.forEach((s, i) => {
      const lx = plot.left + (i % 3) * colW
      const ly = plot.bottom + MARGIN.bottom + 6 + Math.floor(i / 3) * LEGEND_ROW
      parts.push(
        `<g class="legend"><line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${lx + 28}" y="${ly + 4}" font-size="12" fill="#222">${escapeXml(s.name)}</text></g>`,
      )
    })
  }
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" font-family="system-ui, sans-serif">${parts.join('')}</svg>`
}
