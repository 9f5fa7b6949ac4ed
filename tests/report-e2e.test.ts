// The run report end to end: `lorapipe run` on a comparison of two small real trainings writes
// report.html; `lorapipe report` rebuilds it from the folder; headless Chromium renders it.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'
import { lorapipe } from './support/cli.ts'
import { repoRoot } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-report-e2e-'))
const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0)
const needsChromium = chromium ? false : 'no chromium (apt-get install -y chromium); the rendering check needs it'

/** RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
function decodePng(buf: Buffer): { width: number; height: number; pixel: (x: number, y: number) => [number, number, number] } {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'not a PNG')
  let pos = 8
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos)
    const type = buf.toString('latin1', pos + 4, pos + 8)
    const data = buf.subarray(pos + 8, pos + 8 + len)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      assert.equal(data[8], 8, 'bit depth 8')
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0
      assert.ok(channels > 0 && data[12] === 0, 'RGB(A), not interlaced')
    } else if (type === 'IDAT') idat.push(data)
    pos += 12 + len
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const out = Buffer.alloc(height * stride)
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!
      const a = i >= channels ? out[y * stride + i - channels]! : 0
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels]! : 0
      const p = a + b - c
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c
      out[y * stride + i] = (x + pred) & 0xff
    }
  }
  return { width, height, pixel: (x, y) => [out[y * stride + x * channels]!, out[y * stride + x * channels + 1]!, out[y * stride + x * channels + 2]!] }
}

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
    const shot = join(tmp(), 'report.png')
    const r = spawnSync(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${tmp()}`,
        `--screenshot=${shot}`,
        '--window-size=1200,2000',
        `file://${join(runDir, 'report.html')}`,
      ],
      { encoding: 'utf8', timeout: 90_000 },
    )
    assert.ok(existsSync(shot), `no screenshot: ${r.stderr}`)
    assert.ok(statSync(shot).size > 30_000, `screenshot only ${statSync(shot).size} bytes`)
    const png = decodePng(readFileSync(shot))
    assert.deepEqual([png.width, png.height], [1200, 2000])
    // Not blank: many colours, and a good share of pixels differ from the page background.
    const colours = new Set<string>()
    let ink = 0
    let total = 0
    const bg = png.pixel(2, 2).join()
    for (let y = 0; y < png.height; y += 4)
      for (let x = 0; x < png.width; x += 4) {
        const p = png.pixel(x, y).join()
        colours.add(p)
        total++
        if (p !== bg) ink++
      }
    assert.ok(colours.size > 50, `${colours.size} colours`)
    assert.ok(ink / total > 0.2, `${((100 * ink) / total).toFixed(1)}% of pixels differ from the background`)
    // The chart lines' colours (Okabe-Ito blue #0072B2 and vermillion #D55E00) are on the page.
    const near = (c: string, [r0, g0, b0]: number[]) => {
      const [r1, g1, b1] = c.split(',').map(Number)
      return Math.abs(r1! - r0!) + Math.abs(g1! - g0!) + Math.abs(b1! - b0!) < 30
    }
    assert.ok([...colours].some((c) => near(c, [0x00, 0x72, 0xb2])), 'blue series')
    assert.ok([...colours].some((c) => near(c, [0xd5, 0x5e, 0x00])), 'vermillion series')
  })
})
