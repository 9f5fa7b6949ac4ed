// The run report end to end: `lorapipe run` on a comparison of two small real trainings writes
// report.html; `lorapipe report` rebuilds it from the folder; headless Chromium renders it.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe } from './support/cli.ts'
import { repoRoot } from './support/shared.ts'
import { assertDrawn, needsChromium, screenshot } from './support/browser.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-report-e2e-'))

describe('run report', () => {
  const runDir = join(tmp(), 'run')
  let ran: ReturnType<typeof lorapipe> | undefined
  const run = () => (ran ??= lorapipe(['run', join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow-compare.yaml'), '--out', runDir, '--quiet']))

  test('lorapipe run writes report.html: stages, comparison with curves overlaid, per-stage curves and evaluations, config', () => {
    const r = run()
    assert.equal(r.code, 0, r.stderr)
    const html = readFileSync(join(runDir, 'report.html'), 'utf8')
    assert.match(html, /<h1>bow-compare <span class="badge succeeded">/)
    assert.match(html, /<h3>compare: ranked by accuracy<\/h3>/)
    for (const title of ['Training loss', 'Evaluation loss', 'Evaluation accuracy', 'Learning rate']) assert.ok(html.includes(`>${title}</text>`), title)
    // The overlaid charts have one line per method, with a legend.
    const overlaid = html.slice(html.indexOf('Curves overlaid'), html.indexOf('<section class="stage"'))
    assert.equal((overlaid.match(/<path class="series"/g) ?? []).length, 8)
    assert.match(overlaid, />adam<\/text>.*>sgd<\/text>/)
    for (const id of ['adam', 'sgd']) {
      const section = html.slice(html.indexOf(`id="stage-${id}"`)).split('</section>')[0]!
      // Evaluations at steps 20..120, one marked best.
      assert.equal((section.match(/<tr( class="best")?><td>(★ )?\d+<\/td>/g) ?? []).length, 6, id)
      assert.equal((section.match(/class="best"/g) ?? []).length, 1, id)
      assert.match(section, /Timings and throughput/)
      assert.match(section, /training throughput<\/dt><dd>[\d,.]+ samples\/s/)
    }
    assert.match(html, /<h2>Resolved configuration<\/h2><pre># bow-compare: resolved from/)
  })

  test('the page is self-contained: no external scripts, styles, fonts or images', () => {
    run()
    const html = readFileSync(join(runDir, 'report.html'), 'utf8')
    assert.doesNotMatch(html, /https?:\/\//)
    assert.doesNotMatch(html, /<script|<link|<img|@import|url\(/i)
  })

  test('lorapipe report rebuilds it from the run folder, to --out; a folder that is not a run is bad input', () => {
    run()
    const out = join(tmp(), 'again.html')
    const r = lorapipe(['report', runDir, '--out', out])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `wrote ${out}\n`)
    const strip = (s: string) => s.replace(/ on [^<]* UTC from events/, '')
    assert.equal(strip(readFileSync(out, 'utf8')), strip(readFileSync(join(runDir, 'report.html'), 'utf8')))
    const bad = lorapipe(['report', tmp()])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /error: cannot build a report from .*: it has neither events\.jsonl nor config\.resolved\.yaml/)
  })

  test('renders in headless Chromium to a screenshot that is not blank', { skip: needsChromium, timeout: 120_000 }, () => {
    run()
    const png = screenshot(join(runDir, 'report.html'), { width: 1200, height: 2000 })
    // The chart lines' colours (Okabe-Ito blue #0072B2 and vermillion #D55E00) are on the page.
    assertDrawn(png, { 'blue series': [0x00, 0x72, 0xb2], 'vermillion series': [0xd5, 0x5e, 0x00] })
  })
})
