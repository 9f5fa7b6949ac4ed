// The leaderboard: one row per trial, best first (completed trials by objective, then pruned ones
// by their last value, then those still running, then failed ones; equal objectives: the cheaper
// trial first, see ../ranking.ts), written as leaderboard.json
// and leaderboard.csv in the sweep folder.
import { join, relative } from 'node:path'
import { writeFileAtomic, writeJsonAtomic } from '../../fs/atomic.ts'
import type { Goal, SearchSpace, TrialState, Assignment } from '../model.ts'
import { LEADERBOARD_CSV, LEADERBOARD_JSON } from '../folder/layout.ts'
import { durationOf, rankOf, type RecipeChange, type SweepState, type TrialInfo } from './state.ts'
import { rankTrials } from '../ranking.ts'

export interface LeaderboardRow {
  readonly rank: number
  readonly trial: number
  readonly state: TrialState
  /** The sweep metric at the trial's last evaluation; absent for failed trials and those that have not evaluated. */
  readonly objective?: number
  /** Parameter path -> value (a `together` bundle is spread into the paths it sets). */
  readonly parameters: Readonly<Record<string, unknown>>
  readonly step: number
  readonly evaluations: number
  readonly duration_s: number
  /** The trial's run folder, relative to the sweep folder. */
  readonly run_dir: string
  readonly reason?: string
  readonly metrics?: Readonly<Record<string, number>>
  /** The recipe the trial ran under; only once the recipe changed during the sweep. */
  readonly recipe?: number
}

export interface Leaderboard {
  readonly metric: { readonly name: string; readonly goal: Goal }
  readonly rows: readonly LeaderboardRow[]
  /** Where the recipe changed (`--accept-changes`): absent while every trial ran the recipe the sweep started with. */
  readonly recipes?: readonly RecipeChange[]
}

/** The values a trial's assignment sets, by pipeline path. */
export function parameterValues(space: SearchSpace, a: Assignment): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const p of space) {
    if (!(p.name in a)) continue
    const v = a[p.name]
    if (p.domain.kind === 'together' && typeof v === 'number' && p.domain.bundles[v]) Object.assign(out, p.domain.bundles[v])
    else out[p.name] = v
  }
  // Names the space does not list (a record from an edited sweep file) are still shown.
  for (const [k, v] of Object.entries(a)) if (!space.some((p) => p.name === k)) out[k] = v
  return out
}

export function leaderboard(s: SweepState, space: SearchSpace, metric: { name: string; goal: Goal }, sweepDir: string, now = Date.now()): Leaderboard {
  const valueOf = (t: TrialInfo) => (t.state === 'completed' || t.state === 'pruned' ? t.value : t.state === 'running' ? last(t) : undefined)
  // The sweep's one ranking rule (../ranking.ts): state, objective, then cost, then number.
  const trials = rankTrials(s.trials.values(), metric.goal, (t) => rankOf(t, valueOf(t), now))
  const changed = s.recipeChanges.length > 0
  const rows = trials.map((t, i): LeaderboardRow => {
    const v = valueOf(t)
    return {
      rank: i + 1,
      trial: t.number,
      state: t.state,
      ...(v !== undefined ? { objective: v } : {}),
      parameters: parameterValues(space, t.assignment),
      step: t.step,
      evaluations: t.intermediate.size,
      duration_s: Math.round(durationOf(t, now)) / 1000,
      run_dir: relative(sweepDir, t.runDir) || '.',
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      ...(t.lastMetrics ? { metrics: t.lastMetrics } : {}),
      ...(changed ? { recipe: t.recipe } : {}),
    }
  })
  return { metric: { name: metric.name, goal: metric.goal }, rows, ...(changed ? { recipes: s.recipeChanges } : {}) }
}

function last(t: TrialInfo): number | undefined {
  const ks = [...t.intermediate.keys()]
  return ks.length ? t.intermediate.get(Math.max(...ks)) : undefined
}

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function leaderboardCsv(lb: Leaderboard): string {
  const params = [...new Set(lb.rows.flatMap((r) => Object.keys(r.parameters)))]
  // `recipe` (the one each trial started under) only once the recipe changed during the sweep.
  const recipes = lb.recipes !== undefined && lb.recipes.length > 0
  const head = ['rank', 'trial', ...(recipes ? ['recipe'] : []), 'state', lb.metric.name, ...params, 'step', 'evaluations', 'duration_s', 'run_dir', 'reason']
  const lines = [head.map(csvCell).join(',')]
  for (const r of lb.rows)
    lines.push([r.rank, r.trial, ...(recipes ? [r.recipe] : []), r.state, r.objective, ...params.map((p) => r.parameters[p]), r.step, r.evaluations, r.duration_s, r.run_dir, r.reason].map(csvCell).join(','))
  return lines.join('\n') + '\n'
}

export function writeLeaderboard(sweepDir: string, lb: Leaderboard): void {
  writeJsonAtomic(join(sweepDir, LEADERBOARD_JSON), lb)
  writeFileAtomic(join(sweepDir, LEADERBOARD_CSV), leaderboardCsv(lb))
}
