// The sweep report from a sweep folder's events: what it reads back, how it ranks the trials,
// and what the page shows (leaderboard, parallel coordinates, scatters, curves with pruned
// trials cut, links to the trials' own reports).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SweepEvent } from '@lorapipe/core'
import { isSweepDir, readSweep } from '../../src/report/sweep-data.ts'
import { renderSweepReport } from '../../src/report/sweep-html.ts'
import { valueAxis } from '../../src/report/svg-axis.ts'
import { objectiveColor } from '../../src/report/svg-sweep.ts'

const at = (ms: number) => new Date(Date.parse('2025-01-01T00:00:00Z') + ms).toISOString()

function sweepFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-sweep-report-'))
  const trialDir = (n: number) => join(dir, 'trials', String(n).padStart(4, '0'))
  const assignments = [
    { 'lora.r': 8, 'trainer.learning_rate': 2e-4, 'lora.target_modules': ['q_lin', 'v_lin'] },
    { 'lora.r': 16, 'trainer.learning_rate': 1.0, 'lora.target_modules': 'all-linear' },
    { 'lora.r': 4, 'trainer.learning_rate': 3e-5, 'lora.target_modules': ['q_lin', 'v_lin'] },
    { 'lora.r': 8, 'trainer.learning_rate': 5e-4, 'lora.target_modules': 'all-linear' },
  ]
  const events: SweepEvent[] = [
    {
      _tag: 'SweepStarted',
      time: at(0),
      sweep: 'sst2-sweep',
      file: '/s/sst2-sweep.yaml',
      sweepDir: dir,
      method: 'tpe',
      metric: { name: 'eval_accuracy', goal: 'maximize' },
      parameters: Object.keys(assignments[0]!),
      totalTrials: 4,
      concurrency: 2,
      resumed: false,
    },
  ]
  assignments.forEach((assignment, n) => {
    mkdirSync(trialDir(n), { recursive: true })
    events.push({ _tag: 'TrialStarted', time: at(n * 1000), trial: n, assignment, runDir: trialDir(n), resumed: false })
  })
  const m = (trial: number, evaluation: number, value: number): SweepEvent => ({ _tag: 'TrialMetrics', time: at(5000 + evaluation), trial, evaluation, step: evaluation * 10, value, metrics: { eval_accuracy: value } })
  events.push(m(0, 1, 0.7), m(0, 2, 0.8), m(0, 3, 0.82))
  events.push(m(1, 1, 0.49))
  events.push({ _tag: 'TrialFinished', time: at(6000), trial: 1, state: 'pruned', value: 0.49, reason: 'below the top 1/3 of 2 trials at evaluation 1', durationMs: 5000 })
  events.push({ _tag: 'TrialFinished', time: at(9000), trial: 0, state: 'completed', value: 0.82, durationMs: 9000 })
  events.push({ _tag: 'TrialFinished', time: at(9500), trial: 2, state: 'failed', reason: 'Error: out of memory', durationMs: 500 })
  // Trial 3 was resumed: its first evaluation is reported twice (once before, once after the kill).
  events.push(m(3, 1, 0.75), m(3, 1, 0.75), m(3, 2, 0.86))
  events.push({ _tag: 'TrialFinished', time: at(12_000), trial: 3, state: 'completed', value: 0.86, durationMs: 7000 })
  events.push({ _tag: 'SweepFinished', time: at(12_000), status: 'finished', reason: 'all 4 trials done', best: { trial: 3, value: 0.86, assignment: assignments[3]! }, durationMs: 12_000, sweepDir: dir })
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n{"_tag":"TrialMet')
  writeFileSync(join(trialDir(0), 'report.html'), '<!doctype html>')
  writeFileSync(join(dir, 'sweep.resolved.yaml'), 'name: sst2-sweep\nmethod: tpe\n')
  return dir
}

describe('sweep report data', () => {
  const dir = sweepFolder()
  const r = readSweep(dir)

  test('a sweep folder is told apart from a run folder', () => {
    assert.equal(isSweepDir(dir), true)
    const run = mkdtempSync(join(tmpdir(), 'lorapipe-run-'))
    writeFileSync(join(run, 'events.jsonl'), '{"_tag":"RunStarted"}\n')
    assert.equal(isSweepDir(run), false)
  })

  test('trials ranked best first by the goal; failed trials (no value) last; a torn last line counted', () => {
    assert.deepEqual(
      r.trials.map((t) => [t.number, t.state, t.value]),
      [
        [3, 'completed', 0.86],
        [0, 'completed', 0.82],
        [1, 'pruned', 0.49],
        [2, 'failed', undefined],
      ],
    )
    assert.equal(r.best, 3)
    assert.equal(r.badLines, 1)
    assert.equal(r.status, 'finished')
  })

  test('a resumed trial has one curve point per evaluation', () => {
    assert.deepEqual(r.trials.find((t) => t.number === 3)!.curve, [
      [10, 0.75],
      [20, 0.86],
    ])
  })

  test("trial folders and reports are relative to the sweep folder, so the page's links work when moved", () => {
    const t0 = r.trials.find((t) => t.number === 0)!
    assert.equal(t0.runDir, join('trials', '0000'))
    assert.equal(t0.report, join('trials', '0000', 'report.html'))
    assert.equal(r.trials.find((t) => t.number === 3)!.report, undefined)
  })

  test('a folder that holds no sweep is a ReportError', () => {
    assert.throws(() => readSweep(mkdtempSync(join(tmpdir(), 'x-'))), /cannot build a report from .*: its events\.jsonl holds no sweep/)
  })
})

describe('sweep report page', () => {
  const html = renderSweepReport(readSweep(sweepFolder()))

  test('leaderboard: ranks, parameters, states, the best starred, links to trial reports', () => {
    const board = html.slice(html.indexOf('id="leaderboard"'), html.indexOf('</section>', html.indexOf('id="leaderboard"')))
    const trials = [...board.matchAll(/<tr( class="best")?><td>(\d*)<\/td><td>(★ )?(\d+)<\/td>/g)].map((m) => [m[2], m[4], !!m[1]])
    assert.deepEqual(trials, [
      ['1', '3', true],
      ['2', '0', false],
      ['3', '1', false],
      ['', '2', false],
    ])
    assert.match(board, /<td class="params">\[&quot;q_lin&quot;,&quot;v_lin&quot;\]<\/td>/)
    assert.match(board, /<a href="trials\/0000\/report\.html">report<\/a>/)
    assert.match(board, /below the top 1\/3 of 2 trials at evaluation 1/)
    assert.match(board, /Error: out of memory/)
  })

  test('parallel coordinates: an axis per parameter and the metric, a line per trial with a value', () => {
    const svg = html.slice(html.indexOf('<svg class="chart parallel"'), html.indexOf('</svg>', html.indexOf('<svg class="chart parallel"')))
    assert.equal((svg.match(/<line class="axis"/g) ?? []).length, 4)
    // Failed trial 2 has parameters but no objective: it is drawn in grey up to the last parameter axis.
    assert.equal((svg.match(/<path class="trial-line"/g) ?? []).length, 4)
    assert.match(svg, /data-trial="trial 1" [^>]*stroke-dasharray/)
    assert.match(svg, /data-trial="trial 3" [^>]*stroke="#D55E00" stroke-width="3"/)
  })

  test('one scatter per parameter; the learning rate on a log axis', () => {
    assert.equal((html.match(/<svg class="chart scatter"/g) ?? []).length, 3)
    assert.match(html, /trainer\.learning_rate \(log\)<\/text>/)
    // Three trials with a value in each scatter; the pruned one hollow.
    assert.equal((html.match(/<circle class="trial-point"/g) ?? []).length, 9)
    assert.match(html, /<circle class="trial-point"[^>]*fill="#fff"[^>]*><title>trial 1 \(pruned\)/)
  })

  test('curves: one series per trial with evaluations, pruned dashed', () => {
    const curves = html.slice(html.indexOf('id="curves"'))
    assert.match(curves, /data-name="trial 0"/)
    // Pruned after one evaluation: a single point, and a dashed legend entry.
    assert.match(curves, /<title>trial 1 \(pruned\): 10, 0\.49<\/title>/)
    assert.match(curves, /stroke-dasharray="6 4"\/><text[^>]*>trial 1 \(pruned\)<\/text>/)
    assert.match(curves, />trial 3<\/text>/)
  })

  test('self-contained: no scripts, styles or images from elsewhere', () => {
    assert.doesNotMatch(html, /https?:\/\//)
    assert.doesNotMatch(html, /<script|<link|<img|@import|url\(/i)
  })
})

describe('sweep report of a sweep whose recipe changed', () => {
  // Resumed with --accept-changes after trial 1: trials 0 and 1 ran recipe 1 (trial 1 continued
  // after the change keeps it), trial 2 the new one.
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-sweep-recipe-'))
  const change = { recipe: 2, time: at(5000), files: [{ path: '/s/common.yaml', change: 'changed' as const }, { path: '/s/extra.yaml', change: 'added' as const }] }
  const started = (resumed: boolean, recipes?: (typeof change)[]): SweepEvent => ({
    _tag: 'SweepStarted', time: at(resumed ? 5000 : 0), sweep: 's', file: '/s/sweep.yaml', sweepDir: dir, method: 'grid',
    metric: { name: 'eval_accuracy', goal: 'maximize' }, parameters: ['lr'], concurrency: 1, resumed, ...(recipes ? { recipes } : {}),
  })
  const trialStarted = (trial: number, resumed: boolean, recipe?: number): SweepEvent => ({ _tag: 'TrialStarted', time: at(trial * 1000), trial, assignment: { lr: trial }, runDir: join(dir, 'trials', String(trial)), resumed, ...(recipe ? { recipe } : {}) })
  const finished = (trial: number, value: number): SweepEvent => ({ _tag: 'TrialFinished', time: at(9000), trial, state: 'completed', value, durationMs: 1000 })
  const events = [started(false), trialStarted(0, false), finished(0, 0.8), trialStarted(1, false), started(true, [change]), trialStarted(1, true, 1), finished(1, 0.7), trialStarted(2, false, 2), finished(2, 0.9)]
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n')
  const r = readSweep(dir)
  const html = renderSweepReport(r)

  test('each trial has the recipe it was assigned under; the changes are read from the sweep events', () => {
    assert.deepEqual(r.trials.map((t) => [t.number, t.recipe]), [[2, 2], [0, 1], [1, 1]])
    assert.deepEqual(r.recipes, [change])
  })

  test('the leaderboard gets a recipe column, and a section says when the recipe changed, which files, and which trials ran under each', () => {
    assert.match(html, /<th>trial<\/th><th>recipe<\/th><th class="text" title="lr">/)
    assert.match(html, /<td>★ 2<\/td><td class="recipe">2<\/td>/)
    assert.match(html, /the recipe changed once \(<a href="#recipes">see below<\/a>\)/)
    assert.match(html, /<li>recipe 1, as the sweep started: trials 0, 1<\/li><li>recipe 2, from 2025-01-01T00:00:05\.000Z \(resumed with <code>--accept-changes<\/code>\): <code>\/s\/common\.yaml<\/code> changed, <code>\/s\/extra\.yaml<\/code> added; trials 2<\/li>/)
  })

  test('a sweep whose recipe never changed shows neither', () => {
    const plain = renderSweepReport(readSweep(sweepFolder()))
    assert.doesNotMatch(plain, /recipe/i)
  })
})

describe('axes for parameter values', () => {
  test('learning rates spanning decades get a log axis with a tick per decade', () => {
    const a = valueAxis([1e-5, 2e-4, 1e-3])
    assert.equal(a.kind, 'log')
    assert.deepEqual(a.ticks.map((t) => t.label), ['1.0e-5', '1.0e-4', '0.001'])
    assert.equal(a.pos(1e-4), 0.5)
  })

  test('a log_uniform_values parameter is on a log axis in the report whatever span its values have', () => {
    // Within one decade the values alone would get a linear axis; the distribution says log.
    assert.equal(valueAxis([2e-4, 5e-4]).kind, 'linear')
    const a = valueAxis([2e-4, 5e-4], { log: true })
    assert.equal(a.kind, 'log')
    assert.deepEqual(a.ticks.map((t) => t.label), ['1.0e-4', '0.001'])
    const dir = sweepFolder()
    writeFileSync(
      join(dir, 'sweep.resolved.yaml'),
      'name: s\nmethod: tpe\nparameters:\n  lora.r: { values: [4, 8, 16] }\n  trainer.learning_rate: { distribution: log_uniform_values, min: 1.0e-5, max: 1.0 }\n  lora.target_modules: { values: [[q_lin, v_lin], all-linear] }\n',
    )
    const r = readSweep(dir)
    assert.deepEqual(r.logParameters, ['trainer.learning_rate'])
    // Trials 0, 2 and 3 have values (2e-4, 3e-5, 5e-4), less than two decades apart: still a log axis.
    const html = renderSweepReport({ ...r, trials: r.trials.filter((t) => t.number !== 1) })
    assert.match(html, /trainer\.learning_rate \(log\)<\/text>/)
    assert.doesNotMatch(html, /lora\.r \(log\)/)
  })

  test('small ranges are linear; lists and strings are categories in order of appearance', () => {
    assert.equal(valueAxis([4, 8, 16]).kind, 'linear')
    const c = valueAxis([['q_lin', 'v_lin'], 'all-linear', ['q_lin', 'v_lin']])
    assert.equal(c.kind, 'category')
    assert.deepEqual(c.ticks.map((t) => [t.label, t.at]), [
      ['["q_lin","v_lin"]', 0],
      ['all-linear', 1],
    ])
  })

  test('colours run from light (worst) to dark (best)', () => {
    assert.equal(objectiveColor(0), '#c6dbef')
    assert.equal(objectiveColor(1), '#08306b')
  })
})
