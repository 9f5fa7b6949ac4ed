#!/usr/bin/env node
// What a sweep costs per trial, measured on the tiny DistilBERT fixture and the real SST-2 files
// (../shared): the same grid of short LoRA trials run locally with --concurrency 1 and 2, then
// (when redis-server is installed) over a queue with two workers, and optionally how long a killed
// worker's trial takes to be picked up by another worker.
//
//   npm run bench:sweep [-- --trials 8] [-- --no-queue] [-- --takeover]
//
// For each mode: wall time, trials per hour, and per trial the time the leaderboard records
// against the run's own duration (RunStarted to RunFinished in its events): the difference is the
// trial's overhead (process start-up, imports, reading the run's events).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { needsRedis, startRedis } from '../tests/support/redis.ts'

const root = resolve(new URL('..', import.meta.url).pathname)
const bin = join(root, 'packages', 'lorapipe', 'bin', 'lorapipe.js')
const shared = resolve(process.env.LORAPIPE_SHARED ?? join(root, '..', 'shared'))
const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const trials = option('--trials', 8)

if (!existsSync(join(shared, 'fixtures', 'tiny-distilbert'))) {
  console.error(`bench-sweep: needs ../shared (the tiny DistilBERT fixture and SST-2); not found at ${shared} (set LORAPIPE_SHARED)`)
  process.exit(2)
}
// The trials must run the build: a stale one makes lorapipe run its sources through tsx (slow to start).
if (spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) process.exit(1)

const env = { ...process.env, LORAPIPE_SHARED: shared, HF_HUB_OFFLINE: '1', NO_COLOR: '1' }
const base = join(root, 'tests', 'fixtures', 'sweeps', 'tiny-base.yaml')
const work = mkdtempSync(join(tmpdir(), 'lorapipe-bench-sweep-'))
const rates = Array.from({ length: trials }, (_, i) => (1 + i) * 1e-4)
const sweepFile = join(work, 'bench.yaml')
writeFileSync(sweepFile, `name: bench\nbase: ${base}\nmethod: grid\nmetric: {name: eval_loss, goal: minimize}\nparameters:\n  trainer.learning_rate: {values: [${rates.map((r) => r.toExponential(1)).join(', ')}]}\n`)

const children = []
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(work, { recursive: true, force: true })
})

/** A worker may use the benchmark's folder (sweep file and folder) and the checkout (base pipeline). */
const workerArgs = (url) => ['worker', '--queue', url, '--allow', work, '--allow', root]

function start(argv, extraEnv = {}) {
  const child = spawn(process.execPath, [bin, ...argv], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const exited = new Promise((r) => child.on('close', (code) => r(code)))
  return { child, out: () => out, exited }
}

async function until(cond, what, timeoutMs = 300_000) {
  const t0 = Date.now()
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`bench-sweep: timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Per trial: the leaderboard's duration and the run's own (its RunFinished), in seconds. */
function trialTimes(out) {
  const rows = JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8')).rows
  if (rows.length !== trials || rows.some((r) => r.state !== 'completed')) throw new Error(`bench-sweep: not every trial completed in ${out}`)
  return rows.map((r) => {
    const events = readFileSync(join(out, r.run_dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    const run = events.filter((e) => e._tag === 'RunFinished').reduce((s, e) => s + e.durationMs, 0) / 1000
    return { trial: r.duration_s, run }
  })
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const results = []
function report(mode, wall, out) {
  const t = trialTimes(out)
  const row = { mode, wall, perHour: (trials / wall) * 3600, trial: mean(t.map((x) => x.trial)), run: mean(t.map((x) => x.run)) }
  results.push(row)
  console.error(`${mode}: ${trials} trials in ${wall.toFixed(1)} s`)
}

async function local(concurrency) {
  const out = join(work, `local-${concurrency}`)
  const t0 = performance.now()
  const p = start(['sweep', sweepFile, '--concurrency', String(concurrency), '--out', out, '-q'])
  const code = await p.exited
  if (code !== 0) throw new Error(`bench-sweep: local sweep exited ${code}\n${p.out()}`)
  report(`local, concurrency ${concurrency}`, (performance.now() - t0) / 1000, out)
}

async function queued(url) {
  const out = join(work, 'queue')
  // Two workers with one trial each (threads divided as locally), started and idle before the clock starts.
  const threads = String(Math.max(1, Math.floor(availableParallelism() / 2)))
  const workers = [start(workerArgs(url), { LORAPIPE_THREADS: threads }), start(workerArgs(url), { LORAPIPE_THREADS: threads })]
  await until(() => workers.every((w) => w.out().includes('waiting for')), 'both workers wait for work')
  const t0 = performance.now()
  const c = start(['sweep', sweepFile, '--queue', url, '--concurrency', '2', '--out', out, '-q'])
  const code = await c.exited
  if (code !== 0) throw new Error(`bench-sweep: queued sweep exited ${code}\n${c.out()}`)
  report('queue, 2 workers x 1', (performance.now() - t0) / 1000, out)
  for (const w of workers) w.child.kill('SIGINT')
  await Promise.all(workers.map((w) => w.exited))
}

/** Kill -9 a worker mid-trial; how long until another worker starts the trial again. */
async function takeover(url) {
  const out = join(work, 'takeover')
  const f = join(work, 'takeover.yaml')
  writeFileSync(f, `name: takeover\nbase: ${base}\nmethod: grid\nmetric: {name: eval_loss, goal: minimize}\nparameters:\n  trainer.learning_rate: {values: [1.0e-3]}\n`)
  const victim = start(workerArgs(url))
  const c = start(['sweep', f, '--queue', url, '--concurrency', '1', '--out', out, '--set', 'trainer.max_steps=4000', '--set', 'trainer.save_every=10', '--set', 'trainer.eval_every=1000'])
  await until(() => victim.out().includes('started (attempt 1)'), 'the first worker starts the trial')
  const survivor = start(workerArgs(url))
  await until(() => survivor.out().includes('serving sweep takeover'), 'the second worker watches the sweep')
  const ckpts = join(out, 'trials', '0000', 'checkpoints')
  await until(() => existsSync(ckpts) && readdirSync(ckpts).some((n) => /^step-\d+$/.test(n)), 'the trial writes a checkpoint')
  const t0 = performance.now()
  victim.child.kill('SIGKILL')
  await until(() => survivor.out().includes('started (attempt 2'), 'the second worker takes the trial over', 600_000)
  const s = (performance.now() - t0) / 1000
  console.error(`takeover: ${s.toFixed(1)} s`)
  c.child.kill('SIGINT')
  survivor.child.kill('SIGINT')
  await Promise.all([c.exited, survivor.exited])
  return s
}

await local(1)
await local(2)
// The tests' own redis-server (a free port on 127.0.0.1, a temporary folder), stopped at the end.
const redis = !flag('--no-queue') && !needsRedis ? await startRedis() : undefined
if (needsRedis) console.error(`bench-sweep: the queue is not measured (${needsRedis})`)
try {
  if (redis) await queued(redis.url)

  console.log(`\n${trials} LoRA trials of the tiny DistilBERT on SST-2 (64 sentences, 6 steps, 3 evaluations each), ${availableParallelism()} cores\n`)
  console.log('| mode | wall | trials/hour | trial (leaderboard) | its run | overhead per trial |')
  console.log('|---|---|---|---|---|---|')
  for (const r of results) console.log(`| ${r.mode} | ${r.wall.toFixed(1)} s | ${Math.round(r.perHour)} | ${r.trial.toFixed(2)} s | ${r.run.toFixed(2)} s | ${(r.trial - r.run).toFixed(2)} s |`)
  const local2 = results.find((r) => r.mode === 'local, concurrency 2')
  const queue = results.find((r) => r.mode.startsWith('queue'))
  if (local2 && queue) console.log(`\nthe queue against the local sweep at the same concurrency: ${(((queue.wall - local2.wall) / trials) * 2).toFixed(2)} s more per trial slot (wall ${queue.wall.toFixed(1)} vs ${local2.wall.toFixed(1)} s)`)
  if (flag('--takeover') && redis) {
    const lock = process.env.LORAPIPE_QUEUE_LOCK_MS ?? '30000 (default)'
    const stalled = process.env.LORAPIPE_QUEUE_STALLED_MS ?? '30000 (default)'
    const s = await takeover(redis.url)
    console.log(`a killed worker's trial started again on the other worker ${s.toFixed(1)} s after the kill (lock ${lock} ms, stalled check ${stalled} ms)`)
  }
} finally {
  if (redis) {
    await redis.stop()
    rmSync(redis.dir, { recursive: true, force: true })
  }
}
process.exit(0)
