// temporary tuning harness (not committed)
import { gpSampler, tpeSampler } from '../../packages/core/src/sweep/samplers/index.ts'
import { PROBLEMS } from './problems.ts'
import { drive } from './drive.ts'
const seeds = Number(process.env.SEEDS ?? 30)
const configs: Record<string, object> = JSON.parse(process.env.CONFIGS ?? '{"base":{}}')
const probs = (process.env.PROBS ?? 'branin,hartmann6').split(',')
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 }
for (const p of PROBLEMS.filter((p) => probs.includes(p.name))) {
  for (const [name, opts] of Object.entries(configs)) {
    const r20: number[] = [], r50: number[] = [], r100: number[] = []; let ms = 0
    for (let s = 0; s < seeds; s++) {
      const run = drive((process.env.SAMPLER === "gp" ? gpSampler : tpeSampler)(1000 + s, { ...(opts as any), ...((opts as any).gammaBeta ? { gamma: (n: number) => Math.min(Math.ceil((opts as any).gammaBeta * n), 25) } : {}) }), p, Number(process.env.TRIALS ?? 100), Number(process.env.INFLIGHT ?? 1))
      r20.push(run.bestSoFar[19]! - p.minimum); r50.push(run.bestSoFar[49]! - p.minimum); r100.push((run.bestSoFar[99] ?? NaN) - p.minimum)
      ms += run.askMs.slice(-10).reduce((a, b) => a + b, 0) / 10
    }
    console.log(p.name.padEnd(10), name.padEnd(14), [r20, r50, r100].map((r) => median(r).toFixed(4)).join('  '), (ms / seeds).toFixed(2) + 'ms')
  }
}
