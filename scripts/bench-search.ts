// `npm run bench:search`: how good and how fast lorapipe's samplers are, on standard test
// functions (scripts/bench-search/problems.ts), driven exactly as the sweep coordinator drives
// them: `samplerFor(method, seed)` behind the ask/tell search (`ask`, then `tell` the value), which
// shows the sampler every trial so far.
// For each problem and sampler, `--seeds` runs (seeds 0 .. N-1) of `--trials` sequential trials,
// and one more set with 4 trials in flight (running trials in the history, so TPE's constant liar
// and GP's believer are exercised); reported: the median simple regret (best value found minus the
// known minimum) after 20, 50 and 100 trials with a 95% bootstrap confidence interval of the median
// (2000 resamples of the seeds), and the mean CPU time of one `next` call over asks 90-100 (CPU,
// not wall-clock, so that a busy machine does not inflate it; Optuna's side measures the same).
// When a Python with Optuna is installed ($PYTHON, python3, /usr/bin/python3), scripts/bench-search/optuna_bench.py runs Optuna's
// TPESampler on the same problems and seeds (its defaults, and multivariate + constant_liar as
// Optuna 5's defaults set them) and its figures are printed alongside; else it says so.
//
//   npm run bench:search -- [--seeds 100] [--trials 100] [--problems branin,hartmann6,log-scale,mixed]
//                           [--samplers random,tpe-independent,tpe,gp] [--parallel-seeds N] [--in-flight 1,4 | --no-parallel]
//                           [--no-optuna | --optuna-samplers defaults,multivariate]
//                           [--first-seed 0] [--json out.json]
//   npm run bench:search -- --combine a.json,b.json [--json out.json]
// --json keeps each seed's regrets and ask times (written after every seed), so that runs split by
// seed range (--first-seed) in several processes can be put together with --combine.
// Timings depend on the machine: compare lorapipe's with Optuna's from the same run.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Sampler, SearchMethod } from '../packages/core/src/sweep/model.ts'
import { samplerFor, tpeSampler } from '../packages/core/src/sweep/samplers/index.ts'
import { Rng } from '../packages/core/src/random/rng.ts'
import { drive } from './bench-search/drive.ts'
import { PROBLEMS } from './bench-search/problems.ts'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const seeds = Number(opt('seeds', '100'))
const firstSeed = Number(opt('first-seed', '0'))
/** Seeds of the runs with 4 trials in flight (fewer make the benchmark cheaper; a GP ask costs 10-100 ms). */
const parallelSeeds = Number(opt('parallel-seeds', String(seeds)))
const trials = Number(opt('trials', '100'))
const checkpoints = [20, 50, 100].filter((c) => c <= trials)
const problems = opt('problems', PROBLEMS.map((p) => p.name).join(',')).split(',').map((name) => {
  const p = PROBLEMS.find((q) => q.name === name)
  if (!p) throw new Error(`unknown problem ${name}; known: ${PROBLEMS.map((q) => q.name).join(', ')}`)
  return p
})

/** The samplers compared: the sweep file's methods as the coordinator builds them, and TPE's independent mode. */
const SAMPLERS: Record<string, (seed: number) => Sampler> = {
  random: (seed) => samplerFor('random' satisfies SearchMethod, seed),
  'tpe-independent': (seed) => tpeSampler(seed, { multivariate: false }),
  tpe: (seed) => samplerFor('tpe', seed),
  gp: (seed) => samplerFor('gp', seed),
}
const samplers = opt('samplers', Object.keys(SAMPLERS).join(',')).split(',')
for (const s of samplers) if (!SAMPLERS[s]) throw new Error(`unknown sampler ${s}; known: ${Object.keys(SAMPLERS).join(', ')}`)
const inFlights = args.includes('--no-parallel') ? [1] : opt('in-flight', '1,4').split(',').map(Number)

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2
}

/** 95% percentile-bootstrap interval of the median (fixed resampling seed: the same data give the same interval). */
function bootstrapMedian(xs: readonly number[], resamples = 2000): [number, number] {
  const rng = new Rng(12345)
  const meds = Array.from({ length: resamples }, () => median(Array.from({ length: xs.length }, () => xs[rng.nextInt(xs.length)]!))).sort((a, b) => a - b)
  return [meds[Math.floor(0.025 * resamples)]!, meds[Math.ceil(0.975 * resamples) - 1]!]
}

export interface Row {
  problem: string
  sampler: string
  inFlight: number
  seeds: number
  /** checkpoint -> [median, lo, hi] */
  regret: Record<number, [number, number, number]>
  msPerAsk: number
  /** Each seed's regrets at the checkpoints and mean ask time, by seed. */
  perSeed: Record<number, { regrets: number[]; ms: number }>
}

const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 0.01 ? x.toFixed(3) : x.toExponential(1))
const cell = ([m, lo, hi]: [number, number, number]) => `${fmt(m)} [${fmt(lo)}, ${fmt(hi)}]`

function summarise(problem: string, sampler: string, inFlight: number, regrets: number[][], ms: number[], from = 0): Row {
  const regret: Row['regret'] = {}
  checkpoints.forEach((c, k) => {
    const xs = regrets.map((r) => r[k]!)
    regret[c] = [median(xs), ...bootstrapMedian(xs)]
  })
  const perSeed = Object.fromEntries(regrets.map((r, i) => [from + i, { regrets: r, ms: ms[i]! }]))
  return { problem, sampler, inFlight, seeds: regrets.length, regret, msPerAsk: ms.reduce((a, b) => a + b, 0) / ms.length, perSeed }
}

function print(row: Row): void {
  const label = `${row.sampler}${row.inFlight > 1 ? ` (${row.inFlight} in flight)` : ''}`
  console.log(`  ${label.padEnd(60)} n=${String(row.seeds).padEnd(4)} ${checkpoints.map((c) => cell(row.regret[c]!).padEnd(28)).join(' ')} ${row.msPerAsk.toFixed(2)} ms`)
}

const rows: Row[] = []
const out = opt('json', '')
/** Rows so far to --json after each seed (the unfinished row too), so an interrupted run keeps what it measured. */
const save = (partial?: Row) => {
  if (out) writeFileSync(out, JSON.stringify({ seeds, trials, rows: partial ? [...rows, partial] : rows }, null, 2))
}

const combine = opt('combine', '')
if (combine) {
  // Rows of several --json files (seed ranges of the same runs) as one: seeds by number, once.
  const merged = new Map<string, { problem: string; sampler: string; inFlight: number; perSeed: Row['perSeed'] }>()
  for (const file of combine.split(',')) {
    for (const r of (JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows) {
      const key = `${r.problem}\0${r.sampler}\0${r.inFlight}`
      const m = merged.get(key) ?? { problem: r.problem, sampler: r.sampler, inFlight: r.inFlight, perSeed: {} }
      Object.assign(m.perSeed, r.perSeed)
      merged.set(key, m)
    }
  }
  let problem = ''
  for (const m of merged.values()) {
    if (m.problem !== problem) console.log(`\n${(problem = m.problem)}`)
    const seedsOf = Object.keys(m.perSeed).map(Number).sort((a, b) => a - b)
    const row = summarise(m.problem, m.sampler, m.inFlight, seedsOf.map((k) => m.perSeed[k]!.regrets), seedsOf.map((k) => m.perSeed[k]!.ms))
    row.perSeed = m.perSeed
    rows.push(row)
    print(row)
  }
  save()
  process.exit(0)
}

console.log(`median simple regret [95% bootstrap CI] after ${checkpoints.join(' / ')} trials over n seeds; CPU ms per ask (asks 90-100)`)
for (const problem of problems) {
  console.log(`\n${problem.name}: ${problem.what}`)
  for (const sampler of samplers) {
    for (const inFlight of inFlights) {
      const regrets: number[][] = []
      const ms: number[] = []
      for (let seed = firstSeed; seed < firstSeed + (inFlight > 1 ? parallelSeeds : seeds); seed++) {
        const run = drive(SAMPLERS[sampler]!(seed), problem, trials, inFlight)
        regrets.push(checkpoints.map((c) => run.bestSoFar[c - 1]! - problem.minimum))
        const tail = run.askMs.slice(Math.max(0, trials - 10))
        ms.push(tail.reduce((a, b) => a + b, 0) / tail.length)
        save(summarise(problem.name, sampler, inFlight, regrets, ms, firstSeed))
      }
      const row = summarise(problem.name, sampler, inFlight, regrets, ms, firstSeed)
      rows.push(row)
      print(row)
      save()
    }
  }
}

if (!args.includes('--no-optuna')) {
  // The first Python that has Optuna: $PYTHON, python3 on the PATH (a pyenv or venv one), Debian's.
  const pythons = [process.env['PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)
  const found = pythons.map((py) => ({ py, probe: spawnSync(py, ['-c', 'import optuna; print(optuna.__version__)'], { encoding: 'utf8' }) })).find((x) => x.probe.status === 0)
  if (!found) {
    console.log(`\nOptuna: skipped (no Python with optuna among ${pythons.join(', ')}; on Debian: apt-get install python3-optuna)`)
  } else {
    const { py, probe } = found
    const version = probe.stdout.trim()
    console.log(`\nOptuna ${version} (${py}), same problems and seeds:`)
    const r = spawnSync(py, [join(here, 'bench-search', 'optuna_bench.py'), '--seeds', String(seeds), '--first-seed', String(firstSeed), '--trials', String(trials), '--parallel-seeds', String(parallelSeeds), '--problems', problems.map((p) => p.name).join(','), '--in-flight', inFlights.join(','), '--samplers', opt('optuna-samplers', 'defaults,multivariate')], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    if (r.status !== 0) throw new Error(`optuna_bench.py failed (exit ${r.status})`)
    const runs: { problem: string; sampler: string; inFlight: number; regrets: number[][]; ms: number[] }[] = JSON.parse(r.stdout)
    for (const problem of problems) {
      console.log(`\n${problem.name}`)
      for (const run of runs.filter((x) => x.problem === problem.name)) {
        const row = summarise(problem.name, `optuna ${version} ${run.sampler}`, run.inFlight, run.regrets, run.ms, firstSeed)
        rows.push(row)
        print(row)
      }
    }
  }
}

save()
