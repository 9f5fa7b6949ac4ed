// The test functions of `npm run bench:search`, as sweep search spaces with their known minimum.
// scripts/bench-search/optuna_bench.py defines the same four for Optuna: change both together.
import type { Assignment, SearchSpace } from '../../packages/core/src/sweep/model.ts'

export interface Problem {
  readonly name: string
  readonly what: string
  readonly space: SearchSpace
  /** The objective, minimised. */
  readonly f: (a: Assignment) => number
  /** Its minimum over the space: regret is the best value found minus this. */
  readonly minimum: number
}

const num = (a: Assignment, k: string) => a[k] as number

/** Branin on [-5, 10] x [0, 15]; minimum 0.397887 at three points. */
const branin: Problem = {
  name: 'branin',
  what: 'Branin, 2 reals',
  space: [
    { name: 'x1', domain: { kind: 'float', low: -5, high: 10, log: false } },
    { name: 'x2', domain: { kind: 'float', low: 0, high: 15, log: false } },
  ],
  f: (a) => {
    const x1 = num(a, 'x1')
    const x2 = num(a, 'x2')
    const b = 5.1 / (4 * Math.PI ** 2)
    const c = 5 / Math.PI
    const t = 1 / (8 * Math.PI)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10
  },
  minimum: 0.39788735772973816,
}

const H_ALPHA = [1.0, 1.2, 3.0, 3.2]
const H_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
]
const H_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((r) => r.map((x) => x * 1e-4))

/** Hartmann-6 on [0, 1]^6; minimum -3.32237. */
const hartmann6: Problem = {
  name: 'hartmann6',
  what: 'Hartmann-6, 6 reals',
  space: Array.from({ length: 6 }, (_, i) => ({ name: `x${i}`, domain: { kind: 'float' as const, low: 0, high: 1, log: false } })),
  f: (a) => {
    let s = 0
    for (let i = 0; i < 4; i++) {
      let inner = 0
      for (let j = 0; j < 6; j++) inner += H_A[i]![j]! * (num(a, `x${j}`) - H_P[i]![j]!) ** 2
      s += H_ALPHA[i]! * Math.exp(-inner)
    }
    return -s
  },
  minimum: -3.322368011415515,
}

/**
 * A learning-rate-like problem on log scales: a learning rate and a weight decay log-uniform over 5
 * decades and a LoRA rank as a whole number on a log scale, with an interaction between learning
 * rate and weight decay. Minimum 0 at lr 10^-3.3, rank 16, weight decay 10^-2.2.
 */
const logScale: Problem = {
  name: 'log-scale',
  what: 'lr, weight decay (log reals), rank (log integer)',
  space: [
    { name: 'lr', domain: { kind: 'float', low: 1e-6, high: 1e-1, log: true } },
    { name: 'rank', domain: { kind: 'int', low: 1, high: 256, log: true } },
    { name: 'weight_decay', domain: { kind: 'float', low: 1e-6, high: 1e-1, log: true } },
  ],
  f: (a) => {
    const u = Math.log10(num(a, 'lr')) + 3.3
    const v = Math.log10(num(a, 'weight_decay')) + 2.2
    const r = Math.log2(num(a, 'rank')) - 4
    return u * u + 0.3 * u * v + 0.5 * v * v + (r * r) / 8
  },
  minimum: 0,
}

/** Per `schedule` bundle: its offset and the best log10 learning rate under it. */
const SCHEDULES = [
  { bundle: { scheduler: 'cosine', warmup_steps: 100 }, offset: 0, bestLr: -3.5 },
  { bundle: { scheduler: 'linear', warmup_steps: 0 }, offset: 0.15, bestLr: -3 },
  { bundle: { scheduler: 'constant' }, offset: 0.4, bestLr: -4.2 },
]
const TARGETS = [['q', 'v'], 'all-linear', ['q', 'k', 'v', 'o']]
const TARGET_COST = [0.3, 0, 0.1]

/**
 * Mixed and conditional: a `together` parameter (three schedules, each setting its own keys, one
 * without warm-up) on which the best learning rate depends, a categorical of lists and strings,
 * a log-uniform learning rate, a quantised dropout and a stepped integer batch size. Minimum 0:
 * cosine, all-linear, lr 10^-3.5, dropout 0.1, batch 32.
 */
const mixed: Problem = {
  name: 'mixed',
  what: 'together bundles, categorical, log real, q real, stepped int',
  space: [
    { name: 'schedule', domain: { kind: 'together', bundles: SCHEDULES.map((s) => s.bundle) } },
    { name: 'target_modules', domain: { kind: 'categorical', choices: TARGETS } },
    { name: 'lr', domain: { kind: 'float', low: 1e-6, high: 1e-1, log: true } },
    { name: 'dropout', domain: { kind: 'float', low: 0, high: 0.5, log: false, q: 0.05 } },
    { name: 'batch_size', domain: { kind: 'int', low: 8, high: 128, log: false, q: 8 } },
  ],
  f: (a) => {
    const s = SCHEDULES[num(a, 'schedule')]!
    const t = TARGETS.findIndex((x) => JSON.stringify(x) === JSON.stringify(a['target_modules']))
    const u = Math.log10(num(a, 'lr')) - s.bestLr
    return s.offset + TARGET_COST[t]! + u * u + 10 * (num(a, 'dropout') - 0.1) ** 2 + Math.abs(Math.log2(num(a, 'batch_size') / 32)) * 0.1
  },
  minimum: 0,
}

export const PROBLEMS: readonly Problem[] = [branin, hartmann6, logScale, mixed]
