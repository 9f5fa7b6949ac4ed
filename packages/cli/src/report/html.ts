// The run report: one self-contained HTML page (inline CSS and SVG, no scripts, fonts or links
// to anything outside it) with the stages, the training and evaluation curves, the evaluation
// table, timings and throughput, a comparison with the methods' curves overlaid, and the
// resolved configuration.
import { duration } from '../output/format.ts'
import type { EvalPoint, RunReport, StageReport } from './run-data.ts'
import { escapeXml as esc, lineChart, PALETTE, type Series } from './svg-chart.ts'

export const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d1d1f; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
header { background: #fff; border-radius: 10px; padding: 18px 22px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h1 { margin: 0 0 6px; font-size: 24px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
section { background: #fff; border-radius: 10px; padding: 18px 22px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.meta { color: #555; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.meta code { font-size: 12px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-weight: 600; font-size: 12px; color: #fff; background: #777; vertical-align: middle; }
.badge.succeeded, .badge.done { background: #1a7f37; }
.badge.failed { background: #cf222e; }
.badge.interrupted, .badge.skipped { background: #bf8700; }
.badge.running { background: #0969da; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px; border-bottom: 1px solid #e6e6e6; text-align: right; white-space: nowrap; }
th { font-weight: 600; background: #fafafa; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
.scroll { overflow-x: auto; }
table.comparison th { white-space: normal; }
tr.best td { background: #e9f7ee; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 10px 24px; }
.charts svg { max-width: 100%; height: auto; }
dl.kv { display: grid; grid-template-columns: max-content auto; gap: 2px 18px; margin: 0; }
dl.kv dt { color: #555; }
dl.kv dd { margin: 0; font-variant-numeric: tabular-nums; }
pre { background: #f3f3f3; padding: 12px; border-radius: 6px; overflow: auto; font-size: 12px; max-height: 520px; }
.msg.error { color: #cf222e; } .msg.warn { color: #9a6700; }
footer { color: #888; font-size: 12px; text-align: center; margin: 8px 0 24px; }
`

export const fmt = (x: number | undefined, digits = 4) =>
  x === undefined || !Number.isFinite(x) ? '' : Math.abs(x) >= 1e9 ? x.toExponential(3) : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits)
const int = (x: number | undefined) => (x === undefined ? '' : Math.round(x).toLocaleString('en-US'))
export const badge = (s: string) => `<span class="badge ${esc(s)}">${esc(s)}</span>`

/** Stages with something to plot. */
const trained = (r: RunReport) => r.stages.filter((s) => s.train.length > 0 || s.eval.some((e) => e.loss !== undefined || e.accuracy !== undefined))

function bestStep(s: StageReport): number | undefined {
  if (s.bestStep !== undefined) return s.bestStep
  const withLoss = s.eval.filter((e) => e.loss !== undefined)
  if (withLoss.length === 0) return undefined
  return withLoss.reduce((a, b) => (b.loss! < a.loss! ? b : a)).step
}

const pts = <T>(rows: readonly T[], x: (r: T) => number, y: (r: T) => number | undefined) =>
  rows.flatMap((r) => {
    const v = y(r)
    return v === undefined || !Number.isFinite(v) ? [] : [[x(r), v] as const]
  })

function stageCharts(s: StageReport): string {
  const charts: string[] = []
  const evalLoss = pts(s.eval, (e) => e.step, (e) => e.loss)
  charts.push(
    lineChart({
      title: 'Loss',
      xLabel: 'step',
      yLabel: 'loss',
      series: [
        { name: 'training loss', points: pts(s.train, (t) => t.step, (t) => t.loss), color: PALETTE[0] },
        { name: 'evaluation loss', points: evalLoss, color: PALETTE[1], markers: true, dashed: true },
      ].filter((x) => x.points.length > 0),
    }),
  )
  const acc = pts(s.eval, (e) => e.step, (e) => e.accuracy)
  const f1 = pts(s.eval, (e) => e.step, (e) => e.f1)
  if (acc.length + f1.length > 0)
    charts.push(
      lineChart({
        title: 'Evaluation accuracy and F1',
        xLabel: 'step',
        yLabel: 'score',
        series: [
          { name: 'accuracy', points: acc, color: PALETTE[2], markers: true },
          { name: 'F1', points: f1, color: PALETTE[3], markers: true, dashed: true },
        ].filter((x) => x.points.length > 0),
      }),
    )
  const lr = pts(s.train, (t) => t.step, (t) => t.learning_rate)
  if (lr.length > 0) charts.push(lineChart({ title: 'Learning rate', xLabel: 'step', yLabel: 'learning rate', series: [{ name: 'learning rate', points: lr, color: PALETTE[4] }] }))
  const sps = pts(s.train, (t) => t.step, (t) => t.samples_per_s)
  if (sps.length > 1) charts.push(lineChart({ title: 'Training throughput', xLabel: 'step', yLabel: 'samples/s', series: [{ name: 'samples/s', points: sps, color: PALETTE[5] }] }))
  const tps = pts(s.train, (t) => t.step, (t) => t.tokens_per_s)
  if (tps.length > 1) charts.push(lineChart({ title: 'Training tokens/s', xLabel: 'step', yLabel: 'tokens/s', series: [{ name: 'tokens/s', points: tps, color: PALETTE[5] }] }))
  const ppl = pts(s.eval, (e) => e.step, (e) => e.perplexity)
  if (ppl.length > 0) charts.push(lineChart({ title: 'Evaluation perplexity', xLabel: 'step', yLabel: 'perplexity', series: [{ name: 'perplexity', points: ppl, color: PALETTE[1], markers: true }] }))
  return `<div class="charts">${charts.join('')}</div>`
}

function evalTable(s: StageReport): string {
  if (s.eval.length === 0) return ''
  const best = bestStep(s)
  // A causal LM's evaluations have perplexity instead of accuracy and F1.
  const lm = s.eval.some((e) => e.perplexity !== undefined) && !s.eval.some((e) => e.accuracy !== undefined)
  const row = (e: EvalPoint) =>
    `<tr${e.step === best ? ' class="best"' : ''}><td>${e.step === best ? '★ ' : ''}${e.step}</td><td>${fmt(e.epoch, 2)}</td><td>${fmt(e.loss)}</td>${lm ? `<td>${fmt(e.perplexity)}</td>` : `<td>${fmt(e.accuracy)}</td><td>${fmt(e.f1)}</td>`}</tr>`
  return `<h3>Evaluations</h3><table class="evals"><thead><tr><th>step</th><th>epoch</th><th>loss</th>${lm ? '<th>perplexity</th>' : '<th>accuracy</th><th>F1</th>'}</tr></thead><tbody>${s.eval.map(row).join('')}</tbody></table>${
    best !== undefined ? `<p>★ best evaluation (step ${best}${s.metrics?.best ? `, by ${esc(s.metrics.best.metric)}` : ', lowest loss'})</p>` : ''
  }`
}

function timings(s: StageReport): string {
  const m = s.metrics
  const kv: [string, string][] = []
  if (s.durationMs !== undefined) kv.push(['stage time', duration(s.durationMs)])
  if (m) {
    kv.push(['method', esc(m.method)])
    kv.push(['trainable parameters', `${int(m.trainable_params)} of ${int(m.total_params)} (${((100 * m.trainable_params) / Math.max(1, m.total_params)).toFixed(2)}%)`])
    kv.push(['training steps / epochs', `${int(m.train.steps)} / ${fmt(m.train.epochs, 2)}`])
    kv.push(['training time', duration(m.train.runtime_s * 1000)])
    kv.push(['training throughput', `${fmt(m.train.samples_per_s, 1)} samples/s${m.train.tokens_per_s !== undefined ? `, ${fmt(m.train.tokens_per_s, 0)} tokens/s` : ''}`])
    if (m.train.loss !== undefined) kv.push(['final training loss', fmt(m.train.loss)])
    kv.push(['evaluation time', duration(m.eval.runtime_s * 1000)])
    kv.push(['evaluation throughput', `${fmt(m.eval.samples_per_s, 1)} samples/s${m.eval.tokens_per_s !== undefined ? `, ${fmt(m.eval.tokens_per_s, 0)} tokens/s` : ''}`])
    if (m.eval.perplexity !== undefined) kv.push(['evaluation perplexity', fmt(m.eval.perplexity)])
  } else {
    const last = s.train.at(-1)
    if (last?.samples_per_s !== undefined) kv.push(['training throughput (last log)', `${fmt(last.samples_per_s, 1)} samples/s`])
    if (last) kv.push(['steps logged', String(last.step)])
  }
  if (kv.length === 0) return ''
  return `<h3>Timings and throughput</h3><dl class="kv">${kv.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`
}

function stagesTable(r: RunReport): string {
  const rows = r.stages.map((s) => {
    const last = s.metrics?.eval ?? s.eval.at(-1)
    return `<tr><td>${esc(s.id)}</td><td class="text"><code>${esc(s.uses)}</code></td><td>${badge(s.status)}</td><td>${s.durationMs === undefined ? '' : duration(s.durationMs)}</td><td>${
      s.metrics ? int(s.metrics.train.steps) : (s.train.at(-1)?.step ?? '')
    }</td><td>${s.metrics ? fmt(s.metrics.train.samples_per_s, 1) : ''}</td><td>${fmt(last?.loss)}</td><td>${fmt(last?.accuracy)}</td><td>${fmt(last?.f1)}</td></tr>${
      s.error ? `<tr><td></td><td colspan="8" class="msg ${s.status === 'failed' ? 'error' : 'warn'}" style="text-align:left;white-space:normal">${esc(s.error)}</td></tr>` : ''
    }`
  })
  return `<section id="stages"><h2>Stages</h2><table><thead><tr><th>stage</th><th class="text">uses</th><th>status</th><th>time</th><th>steps</th><th>train samples/s</th><th>eval loss</th><th>eval accuracy</th><th>eval F1</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`
}

function comparisonSection(r: RunReport): string {
  const runs = trained(r)
  const tables = r.stages.filter((s) => s.comparison)
  if (runs.length < 2 && tables.length === 0) return ''
  const parts: string[] = ['<section id="comparison"><h2>Comparison</h2>']
  for (const s of tables) {
    const c = s.comparison!
    const cols = [...new Set(c.rows.flatMap((row) => Object.keys(row)))]
    parts.push(
      `<h3>${esc(s.id)}: ranked by ${esc(c.metric)}</h3><div class="scroll"><table class="comparison"><thead><tr>${cols.map((k) => `<th>${esc(k.replace(/_/g, ' '))}</th>`).join('')}</tr></thead><tbody>${c.rows
        .map((row) => `<tr>${cols.map((k) => `<td>${typeof row[k] === 'number' ? (Number.isInteger(row[k]) ? int(row[k] as number) : fmt(row[k] as number)) : esc(String(row[k] ?? ''))}</td>`).join('')}</tr>`)
        .join('')}</tbody></table></div>`,
    )
  }
  if (runs.length >= 2) {
    const overlay = (title: string, yLabel: string, f: (s: StageReport) => Series['points'], markers = false) =>
      lineChart({ title, xLabel: 'step', yLabel, series: runs.map((s, i) => ({ name: s.metrics?.method && s.metrics.method !== s.id ? `${s.id} (${s.metrics.method})` : s.id, points: f(s), color: PALETTE[i % PALETTE.length], markers })) })
    parts.push(
      `<h3>Curves overlaid</h3><div class="charts">${[
        overlay('Training loss', 'loss', (s) => pts(s.train, (t) => t.step, (t) => t.loss)),
        overlay('Evaluation loss', 'loss', (s) => pts(s.eval, (e) => e.step, (e) => e.loss), true),
        overlay('Evaluation accuracy', 'accuracy', (s) => pts(s.eval, (e) => e.step, (e) => e.accuracy), true),
        overlay('Learning rate', 'learning rate', (s) => pts(s.train, (t) => t.step, (t) => t.learning_rate)),
      ].join('')}</div>`,
    )
  }
  parts.push('</section>')
  return parts.join('')
}

export function renderReport(r: RunReport, opts: { generatedAt?: string; version?: string } = {}): string {
  const title = `lorapipe report: ${r.pipeline || r.runDir}`
  const header = `<header><h1>${esc(r.pipeline || 'run')} ${r.status ? badge(r.status) : badge('running')}</h1><div class="meta">${[
    r.durationMs !== undefined ? `<span>took ${duration(r.durationMs)}</span>` : '',
    r.startedAt ? `<span>started ${esc(r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}</span>` : '',
    `<span>run folder <code>${esc(r.runDir)}</code></span>`,
    r.file ? `<span>pipeline <code>${esc(r.file)}</code></span>` : '',
    r.badLines > 0 ? `<span class="msg warn">${r.badLines} unreadable line(s) in events.jsonl</span>` : '',
  ].join('')}</div></header>`
  const stageSections = trained(r).map(
    (s) => `<section class="stage" id="stage-${esc(s.id)}"><h2>Stage <code>${esc(s.id)}</code> ${badge(s.status)}</h2>${stageCharts(s)}${evalTable(s)}${timings(s)}</section>`,
  )
  const messages =
    r.messages.length > 0
      ? `<section id="messages"><h2>Warnings and errors</h2>${r.messages.map((m) => `<div class="msg ${esc(m.level)}">${m.stage ? `[${esc(m.stage)}] ` : ''}${esc(m.text)}</div>`).join('')}</section>`
      : ''
  const config = r.config ? `<section id="config"><h2>Resolved configuration</h2><pre>${esc(r.config)}</pre></section>` : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>${header}${stagesTable(r)}${comparisonSection(r)}${stageSections.join('')}${messages}${config}<footer>generated by lorapipe${opts.version ? ` ${esc(opts.version)}` : ''}${
    opts.generatedAt ? ` on ${esc(opts.generatedAt)}` : ''
  } from events.jsonl, metrics.json and comparison.json</footer></main></body></html>
`
}
