// A sweep as people watch it: the Ink UI in a real pseudo-terminal (tmux) while the trials run,
// the summary that stays on screen, and the sweep report rendered in headless Chromium. The sweep
// is the 4-trial bag-of-words grid (tests/fixtures/sweeps/bow-grid.yaml), which needs no ../shared.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe } from './support/cli.ts'
import { assertDrawn, needsChromium, screenshot } from './support/browser.ts'
import { repoRoot } from './support/shared.ts'
import { needsTmux, shell, Terminal } from './support/terminal.ts'

const sweepFile = join(repoRoot, 'tests', 'fixtures', 'sweeps', 'bow-grid.yaml')
const out = join(mkdtempSync(join(tmpdir(), 'lorapipe-sweep-view-')), 'sweep')

describe('lorapipe sweep in a terminal, then its report', { skip: needsTmux }, () => {
  test('the live view: progress over the trials, the trial table, a running trial panel; then the summary with the winner', async () => {
    // Slow steps (20 ms) so that a running trial's panel can be seen.
    const term = new Terminal(shell(['sweep', sweepFile, '--out', out, '--concurrency', '2', '--set', 'vars.step_ms=20']), { columns: 120, rows: 50 })
    try {
      const live = await term.waitFor(/── trial \d+ ─[\s\S]*step \d+\/\d+/, 120_000)
      assert.match(live, /lorapipe sweep bow-grid · grid · maximize train\.eval_accuracy/)
      assert.match(live, /[█░]+ \d\/4 trials/)
      assert.match(live, /#\s+optimizer\s+learning_rate\s+epochs\s+status\s+step\s+latest\s+best/)
      assert.match(live, /\d+ adam\s+0\.05\s+1\s+● running/)
      const end = await term.waitFor(/EXIT=\d+ MODES: .*echo/, 240_000)
      assert.match(end, /EXIT=0/)
      assert.match(end, /sweep bow-grid finished in [\d.]+s: every grid point was tried \(4 trials\)/)
      // Four rows, ranked, the winner starred; and how to run it.
      const rows = end.split('\n').filter((l) => /^[ ★]\s+\d \S/.test(l))
      assert.equal(rows.length, 4, end)
      assert.match(rows[0]!, /^★/)
      assert.ok(rows.every((r) => /✔ completed/.test(r)), end)
      assert.match(end, /best: trial \d, train\.eval_accuracy 0\.\d{4}/)
      assert.ok(end.replace(/\n/g, '').includes(`run the best: lorapipe run ${join(out, 'best.yaml')}`), end)
    } finally {
      term.close()
    }
  })

  test('lorapipe report on the sweep folder: one page with the leaderboard and the charts', () => {
    const r = lorapipe(['report', out, '--out', join(out, 'again.html')])
    assert.equal(r.code, 0, r.stderr)
    const html = readFileSync(join(out, 'again.html'), 'utf8')
    assert.match(html, /<h1>bow-grid <span class="badge finished">/)
    assert.equal((html.match(/<tr( class="best")?><td>\d<\/td><td>(★ )?\d<\/td>/g) ?? []).length, 4)
    // Each trial links to its own run report.
    assert.equal((html.match(/<a href="trials\/\d{4}\/report\.html">report<\/a>/g) ?? []).length, 4)
    assert.match(html, /<svg class="chart parallel"/)
    assert.equal((html.match(/<svg class="chart scatter"/g) ?? []).length, 3)
  })

  test('the sweep report renders in headless Chromium', { skip: needsChromium, timeout: 120_000 }, () => {
    const png = screenshot(join(out, 'report.html'), { width: 1200, height: 2400 })
    // The best trial's vermillion and the scatter points' blue are on the page.
    assertDrawn(png, { 'best trial': [0xd5, 0x5e, 0x00], 'trial points': [0x00, 0x72, 0xb2] })
  })
})
