// The report's SVG line charts: ticks, scales, paths and legends computed for known data.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { escapeXml, lineChart, linearScale, MARGIN, niceTicks, pathData, tickLabel } from '../../src/report/svg-chart.ts'

describe('svg chart', () => {
  test('niceTicks: round steps of 1, 2 or 5 that cover the range', () => {
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1])
    assert.deepEqual(niceTicks(0, 120, 6), [0, 20, 40, 60, 80, 100, 120])
    assert.deepEqual(niceTicks(0.37, 0.71, 5), [0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    assert.deepEqual(niceTicks(3, 97, 5), [0, 20, 40, 60, 80, 100])
    assert.deepEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1])
    assert.deepEqual(niceTicks(2e-5, 1e-4, 4), [2e-5, 4e-5, 6e-5, 8e-5, 1e-4])
    // A flat series still gets an axis around its value.
    assert.deepEqual(niceTicks(5, 5, 4), [4.5, 5, 5.5])
    assert.deepEqual(niceTicks(0, 0, 4), [-1, -0.5, 0, 0.5, 1])
    assert.deepEqual(niceTicks(Number.NaN, 1), [])
  })

  test('linearScale maps the domain onto the range, inverted for y', () => {
    const sy = linearScale(0, 1, 200, 0)
    assert.equal(sy(0), 200)
    assert.equal(sy(1), 0)
    assert.equal(sy(0.25), 150)
  })

  test('pathData: moves to the first point, lines to the others, skips non-finite points', () => {
    const sx = linearScale(0, 10, 0, 100)
    const sy = linearScale(0, 1, 50, 0)
    assert.equal(pathData([[0, 0], [5, 0.5], [7, Number.NaN], [10, 1]], sx, sy), 'M0 50 L50 25 L100 0')
  })

  test('lineChart: axes, ticks, one path per series at the computed coordinates, and a legend', () => {
    const svg = lineChart({
      title: 'eval accuracy',
      xLabel: 'step',
      yLabel: 'accuracy',
      width: 400,
      height: 300,
      series: [
        { name: 'adam', points: [[0, 0], [50, 0.5], [100, 1]] },
        { name: 'sgd <1>', points: [[0, 0.2], [100, 0.8]], markers: true },
      ],
    })
    // Two series: one legend row of 18 px below the x axis.
    const plot = { left: MARGIN.left, right: 400 - MARGIN.right, top: MARGIN.top, bottom: 300 - MARGIN.bottom - 18 }
    const paths = [...svg.matchAll(/<path class="series" data-name="([^"]*)" d="([^"]*)"/g)].map((m) => [m[1], m[2]])
    assert.deepEqual(paths, [
      ['adam', `M${plot.left} ${plot.bottom} L${(plot.left + plot.right) / 2} ${(plot.top + plot.bottom) / 2} L${plot.right} ${plot.top}`],
      ['sgd &lt;1&gt;', `M${plot.left} ${plot.bottom - 0.2 * (plot.bottom - plot.top)} L${plot.right} ${Math.round((plot.bottom - 0.8 * (plot.bottom - plot.top)) * 100) / 100}`],
    ])
    // Markers only for the series that asks for them.
    assert.equal((svg.match(/<circle /g) ?? []).length, 2)
    // y ticks 0, 0.2, ..., 1 and x ticks 0, 20, ..., 100, with labels.
    for (const t of ['0.2', '0.4', '0.6', '0.8', '1']) assert.ok(svg.includes(`>${t}</text>`), t)
    for (const t of ['20', '40', '60', '80', '100']) assert.ok(svg.includes(`>${t}</text>`), t)
    assert.match(svg, /<text[^>]*>eval accuracy<\/text>/)
    assert.match(svg, /<text[^>]*>step<\/text>/)
    assert.match(svg, /<g class="legend">.*>adam<\/text><\/g><g class="legend">.*>sgd &lt;1&gt;<\/text><\/g>/)
    assert.doesNotMatch(svg, /https?:/)
  })

  test('yInclude widens the y axis; a lone point is drawn as a dot; no data says so', () => {
    const svg = lineChart({ series: [{ name: 'acc', points: [[10, 0.8]] }], yInclude: [0, 1] })
    assert.equal((svg.match(/<circle /g) ?? []).length, 1)
    assert.ok(svg.includes('>0</text>') && svg.includes('>1</text>'))
    assert.doesNotMatch(svg, /<path class="series"/)
    assert.match(lineChart({ series: [{ name: 'x', points: [] }] }), /no data/)
  })

  test('labels and text are escaped and short', () => {
    assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;')
    assert.deepEqual([0, 0.5, 2000, 1.5e-5, 0.30000000000000004].map(tickLabel), ['0', '0.5', '2000', '1.5e-5', '0.3'])
  })
})
