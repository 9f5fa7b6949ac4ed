#!/usr/bin/env node
// Start-up time of the `lorapipe` command: the median wall time over N runs of `--help` and of
// `validate pipelines/sst2-lora.yaml`, each a fresh process, for
//  - build: the bundle as an installed lorapipe runs it (built here into .tmp/bench-lorapipe,
//    beside the checkout's node_modules, so edits elsewhere cannot make it stale meanwhile);
//  - checkout: `node packages/lorapipe/bin/lorapipe.js` as it is (the build when current, else the
//    TypeScript sources through tsx; the line says which);
//  - sources: the TypeScript sources through tsx (what every start cost before the build).
// The machine's load is printed with each figure: other work on the machine slows all of them;
// with GNU time installed, the median CPU time (user + system) of the runs is printed too.
//
// `node scripts/bench-startup.mjs [N=15]`
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const n = Number(process.argv[2] ?? 15)
const pipeline = 'pipelines/sst2-lora.yaml'

const copy = join(root, '.tmp', 'bench-lorapipe')
rmSync(copy, { recursive: true, force: true })
mkdirSync(copy, { recursive: true })
cpSync(join(root, 'packages/lorapipe/bin'), join(copy, 'bin'), { recursive: true })
cpSync(join(root, 'packages/lorapipe/package.json'), join(copy, 'package.json'))
const b = spawnSync(process.execPath, ['scripts/build.mjs', '--outdir', join(copy, 'dist')], { cwd: root, encoding: 'utf8' })
if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`)
rmSync(join(copy, 'dist', 'inputs.json')) // as packed: no sources to compare with

function checkoutMode() {
  const dist = join(root, 'packages/lorapipe/dist')
  try {
    const { root: r, inputs } = JSON.parse(readFileSync(join(dist, 'inputs.json'), 'utf8'))
    const built = statSync(join(dist, 'inputs.json')).mtimeMs
    return inputs.every((f) => statSync(join(dist, r, f)).mtimeMs <= built) ? 'build' : 'sources (build out of date)'
  } catch {
    return 'sources (no build)'
  }
}

const variants = {
  build: [join(copy, 'bin', 'lorapipe.js')],
  checkout: [join(root, 'packages/lorapipe/bin/lorapipe.js')],
  sources: ['--import', 'tsx', join(root, 'packages/cli/src/main.ts')],
}
const commands = { '--help': ['--help'], validate: ['validate', pipeline] }

const opts = { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }
// GNU time, when installed, adds each run's CPU time (user + system), steadier than wall time on a
// busy machine.
const timeCmd = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

console.log(`node ${process.version}, ${n} runs each; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
for (const [name, pre] of Object.entries(variants)) {
  const mode = name === 'checkout' ? ` [${checkoutMode()}]` : ''
  for (const [label, args] of Object.entries(commands)) {
    const times = []
    const cpu = []
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint()
      const r = timeCmd ? spawnSync(timeCmd, ['-f', '\ncpu %U %S', process.execPath, ...pre, ...args], opts) : spawnSync(process.execPath, [...pre, ...args], opts)
      times.push(Number(process.hrtime.bigint() - t) / 1e6)
      if (r.status !== 0) throw new Error(`${name} ${label} exited ${r.status}: ${r.stderr}`)
      const m = timeCmd && /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr)
      if (m) cpu.push((Number(m[1]) + Number(m[2])) * 1000)
    }
    const s = [...times].sort((a, b) => a - b)
    console.log(
      `${`${name} ${label}`.padEnd(20)} median ${median(times).toFixed(0).padStart(5)} ms  (min ${s[0].toFixed(0)}, max ${s.at(-1).toFixed(0)})${cpu.length ? `  cpu ${median(cpu).toFixed(0)} ms` : ''}  load ${loadavg()[0].toFixed(2)}${mode}`,
    )
  }
}
const bare = []
const bareCpu = []
for (let i = 0; i < n; i++) {
  const t = process.hrtime.bigint()
  const r = timeCmd ? spawnSync(timeCmd, ['-f', '\ncpu %U %S', process.execPath, '-e', '0'], opts) : spawnSync(process.execPath, ['-e', '0'])
  bare.push(Number(process.hrtime.bigint() - t) / 1e6)
  const m = timeCmd && /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr)
  if (m) bareCpu.push((Number(m[1]) + Number(m[2])) * 1000)
}
console.log(`${'node -e 0'.padEnd(20)} median ${median(bare).toFixed(0).padStart(5)} ms${bareCpu.length ? `  cpu ${median(bareCpu).toFixed(0)} ms` : ''}  (Node's own start-up, for scale)`)
rmSync(copy, { recursive: true, force: true })
