// The sweep report: one self-contained HTML page like the run report (inline CSS and SVG, no
// scripts or links outside it except to the trials' own reports beside it): the leaderboard, a
// parallel-coordinates chart of the parameters against the objective, one scatter per parameter,
// the trials' objective curves overlaid (pruned trials dashed, cut where they stopped), and the
// resolved sweep.
import { duration } from '../output/format.ts'
import { paramTitles, paramValue } from '../output/parameters.ts'
import { categoryLabel } from './svg-axis.ts'
import { badge, CSS, fmt } from './html.ts'
import { escapeXml as esc, lineChart, PALETTE } from './svg-chart.ts'
import { parallelCoordinates, scatter, type SweepPoint } from './svg-sweep.ts'
import type { SweepReport, TrialReport } from './sweep-data.ts'

/** Colours of trials other than the best, which has vermillion. */
const OTHERS = PALETTE.filter((_, j) => j !== 1)

/** Trials drawn in the overlaid curves: the best ones, so the legend stays readable. */
const CURVES = 24

const SWEEP_CSS = `
.badge.finished, .badge.completed { background: #1a7f37; }
.badge.pruned, .badge.stopped { background: #bf8700; }
td.params { text-align: left; font-family: ui-monospace, monospace; font-size: 12px; }
.leaderboard td.reason { text-align: left; white-space: normal; color: #555; max-width: 360px; }
`

const value = (v: unknown) => (typeof v === 'number' ? paramValue(v) : categoryLabel(v))

function points(r: SweepReport): SweepPoint[] {
  return r.trials.map((t) => ({ label: `trial ${t.number}`, values: t.assignment, objective: t.value, state: t.state, best: t.number === r.best }))
}

function leaderboard(r: SweepReport): string {
  const titles = paramTitles(r.parameters)
  // Once the recipe changed, which one each trial ran under.
  const recipes = r.recipes.length > 0
  const first = recipes ? 3 : 2
  const head = ['rank', 'trial', ...(recipes ? ['recipe'] : []), ...titles, 'state', r.metric.name, 'evaluations', 'time', 'report']
  // Parameter columns carry their full path as a tooltip.
  const th = (h: string, i: number) => (i >= first && i < first + titles.length ? `<th class="text" title="${esc(r.parameters[i - first]!)}">${esc(h)}</th>` : `<th>${esc(h)}</th>`)
  const rows = r.trials.map((t, i) => {
    const best = t.number === r.best
    const cells = [
      `<td>${t.value === undefined ? '' : i + 1}</td>`,
      `<td>${best ? '★ ' : ''}${t.number}</td>`,
      ...(recipes ? [`<td class="recipe">${t.recipe}</td>`] : []),
      ...r.parameters.map((p) => `<td class="params">${esc(t.assignment[p] === undefined ? '' : value(t.assignment[p]))}</td>`),
      `<td>${badge(t.state)}</td>`,
      `<td>${fmt(t.value)}</td>`,
      `<td>${t.evaluations}</td>`,
      `<td>${t.durationMs === undefined ? '' : duration(t.durationMs)}</td>`,
      `<td class="text">${t.report ? `<a href="${esc(t.report)}">report</a>` : t.runDir ? `<code>${esc(t.runDir)}</code>` : ''}</td>`,
    ]
    const reason = t.reason && t.state !== 'completed' ? `<tr><td></td><td colspan="${head.length - 1}" class="reason">${esc(t.reason.split('\n').slice(0, 3).join(' '))}</td></tr>` : ''
    return `<tr${best ? ' class="best"' : ''}>${cells.join('')}</tr>${reason}`
  })
  return `<section id="leaderboard"><h2>Leaderboard</h2><div class="scroll"><table class="leaderboard"><thead><tr>${head.map(th).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>${
    r.best !== undefined ? `<p>★ best trial (${esc(r.metric.goal)} ${esc(r.metric.name)}); its resolved pipeline is <code>best.yaml</code> beside this report.</p>` : ''
  }</section>`
}

function charts(r: SweepReport): string {
  const ps = points(r)
  if (!ps.some((p) => p.objective !== undefined)) return ''
  const goal = r.metric.goal
  const logParameters = r.logParameters
  const parallel = r.parameters.length > 0 ? parallelCoordinates({ parameters: r.parameters, metric: r.metric.name, goal, points: ps, logParameters }) : ''
  const scatters = r.parameters.map((p) => scatter({ parameter: p, metric: r.metric.name, goal, points: ps, logParameters }))
  const drawn = r.trials.filter((t) => t.curve.length > 0).slice(0, CURVES)
  const curves = lineChart({
    title: `${r.metric.name} after each evaluation`,
    xLabel: 'step',
    yLabel: r.metric.name,
    width: 1080,
    height: 380,
    series: drawn.map((t: TrialReport, i) => ({
      name: `trial ${t.number}${t.state === 'pruned' ? ' (pruned)' : t.state === 'failed' ? ' (failed)' : ''}`,
      points: t.curve,
      color: t.number === r.best ? PALETTE[1] : OTHERS[i % OTHERS.length],
      dashed: t.state === 'pruned',
      markers: true,
    })),
  })
  return `<section id="parallel"><h2>Parameters against ${esc(r.metric.name)}</h2><div class="charts">${parallel}</div><p>Darker lines are better trials; the best is highlighted; pruned trials are dashed.</p></section>
<section id="scatter"><h2>Each parameter against ${esc(r.metric.name)}</h2><div class="charts">${scatters.join('')}</div><p>Hollow points are pruned trials (their last reported value).</p></section>
<section id="curves"><h2>Curves</h2><div class="charts">${curves}</div><p>Pruned trials are dashed and end where they were stopped${r.trials.filter((t) => t.curve.length > 0).length > CURVES ? `; the best ${CURVES} trials are drawn` : ''}.</p></section>`
}

/** Where the recipe changed: when, which files, and which trials ran under each recipe. */
function recipeChanges(r: SweepReport): string {
  if (r.recipes.length === 0) return ''
  const trialsOf = (n: number) => r.trials.filter((t) => t.recipe === n).map((t) => t.number).sort((a, b) => a - b)
  const list = (ns: number[]) => (ns.length ? `trials ${ns.join(', ')}` : 'no trial yet')
  const items = [
    `<li>recipe 1, as the sweep started: ${list(trialsOf(1))}</li>`,
    ...r.recipes.map(
      (c) =>
        `<li>recipe ${c.recipe}, from ${esc(c.time)} (resumed with <code>--accept-changes</code>): ${c.files.map((f) => `<code>${esc(f.path)}</code> ${esc(f.change)}`).join(', ')}; ${list(trialsOf(c.recipe))}</li>`,
    ),
  ]
  return `<section id="recipes"><h2>Recipe changes</h2><p>The files the trials are made of changed during the sweep: trials of different recipes are not strictly comparable. A trial keeps the recipe it was assigned under, also when it was continued after a change.</p><ul>${items.join('')}</ul></section>`
}

export function renderSweepReport(r: SweepReport, opts: { generatedAt?: string; version?: string } = {}): string {
  const count = (s: string) => r.trials.filter((t) => t.state === s).length
  const header = `<header><h1>${esc(r.sweep)} ${badge(r.status ?? 'running')}</h1><div class="meta">${[
    `<span>${esc(r.method ?? '')}, ${esc(r.metric.goal)} <code>${esc(r.metric.name)}</code>${r.metric.target !== undefined ? ` (target ${fmt(r.metric.target)})` : ''}</span>`,
    `<span>${r.trials.length}${r.totalTrials !== undefined ? ` of ${r.totalTrials}` : ''} trials: ${count('completed')} completed, ${count('pruned')} pruned, ${count('failed')} failed${count('running') ? `, ${count('running')} running` : ''}</span>`,
    r.durationMs !== undefined ? `<span>took ${duration(r.durationMs)}</span>` : '',
    r.reason ? `<span>${esc(r.reason)}</span>` : '',
    `<span>sweep folder <code>${esc(r.sweepDir)}</code></span>`,
    r.badLines > 0 ? `<span class="msg warn">${r.badLines} unreadable line(s) in events.jsonl</span>` : '',
    r.recipes.length > 0 ? `<span class="msg warn">the recipe changed ${r.recipes.length === 1 ? 'once' : `${r.recipes.length} times`} (<a href="#recipes">see below</a>)</span>` : '',
  ].join('')}</div></header>`
  const messages =
    r.messages.length > 0 ? `<section id="messages"><h2>Warnings and errors</h2>${r.messages.map((m) => `<div class="msg ${esc(m.level)}">${esc(m.text)}</div>`).join('')}</section>` : ''
  const config = r.config ? `<section id="config"><h2>Resolved sweep</h2><pre>${esc(r.config)}</pre></section>` : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(`lorapipe sweep report: ${r.sweep}`)}</title><style>${CSS}${SWEEP_CSS}</style></head>
<body><main>${header}${leaderboard(r)}${recipeChanges(r)}${charts(r)}${messages}${config}<footer>generated by lorapipe${opts.version ? ` ${esc(opts.version)}` : ''}${
    opts.generatedAt ? ` on ${esc(opts.generatedAt)}` : ''
  } from the sweep's events.jsonl</footer></main></body></html>
`
}
