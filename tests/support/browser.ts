// Pages as people see them: a screenshot in headless Chromium, decoded, and checked not blank.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'

/** RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
export function decodePng(buf: Buffer): { width: number; height: number; pixel: (x: number, y: number) => [number, number, number] } {
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


const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0)
export const needsChromium = chromium ? false : 'no chromium (apt-get install -y chromium); the rendering check needs it'

/** A screenshot of a local page in headless Chromium, decoded. */
export function screenshot(page: string, size: { width: number; height: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-shot-'))
  const shot = join(dir, 'page.png')
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
      `--user-data-dir=${join(dir, 'profile')}`,
      `--screenshot=${shot}`,
      `--window-size=${size.width},${size.height}`,
      `file://${page}`,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  )
  assert.ok(existsSync(shot), `no screenshot: ${r.stderr}`)
  assert.ok(statSync(shot).size > 30_000, `screenshot only ${statSync(shot).size} bytes`)
  const png = decodePng(readFileSync(shot))
  assert.deepEqual([png.width, png.height], [size.width, size.height])
  return png
}

/** The page is not blank (many colours, a good share of pixels off the background) and shows these colours. */
export function assertDrawn(png: ReturnType<typeof decodePng>, colours: Readonly<Record<string, readonly [number, number, number]>>): void {
  const seen = new Set<string>()
  let ink = 0
  let total = 0
  const bg = png.pixel(2, 2).join()
  for (let y = 0; y < png.height; y += 4)
    for (let x = 0; x < png.width; x += 4) {
      const p = png.pixel(x, y).join()
      seen.add(p)
      total++
      if (p !== bg) ink++
    }
  assert.ok(seen.size > 50, `${seen.size} colours`)
  assert.ok(ink / total > 0.2, `${((100 * ink) / total).toFixed(1)}% of pixels differ from the background`)
  const near = (c: string, [r0, g0, b0]: readonly number[]) => {
    const [r1, g1, b1] = c.split(',').map(Number)
    return Math.abs(r1! - r0!) + Math.abs(g1! - g0!) + Math.abs(b1! - b0!) < 30
  }
  for (const [name, rgb] of Object.entries(colours)) assert.ok([...seen].some((c) => near(c, rgb)), name)
}
