// Everything the sweep report shows, read back from a sweep folder's `events.jsonl` (the sweep
// events, folded with core's sweep view: assignments, each trial's objective after every
// evaluation, outcomes) and its `sweep.resolved.yaml`; the report ranks the trials itself.
// Works for a sweep that is still running, was interrupted or failed.
import { existsSync } from 'node:fs'
import { FILE_KINDS, readUserText } from '@lorapipe/core/fs/user-file.ts'
import { join, relative } from 'node:path'
import { parse } from 'yaml'
import type { Goal, SweepEvent, SweepStatus } from '@lorapipe/core'
import { foldSweep, rankOfRow, type RecipeChange, type TrialRow } from '@lorapipe/core/views/sweep.ts'
import { betterObjective, rankTrials } from '@lorapipe/core/sweep/ranking.ts'
import { readTaggedLines, ReportError } from './run-data.ts'

/** A trial's row of the sweep view, as the report shows it. */
export interface TrialReport extends TrialRow {
  /** The trial's objective: its final value, else the best it reported. */
  readonly value?: number
  /** The trial's run folder, relative to the sweep folder when inside it. */
  readonly runDir?: string
  /** Its own report, relative to the sweep folder, when it exists. */
  readonly report?: string
}

export interface SweepReport {
  readonly sweepDir: string
  readonly sweep: string
  readonly file?: string
  readonly method?: string
  readonly metric: { readonly name: string; readonly goal: Goal; readonly target?: number }
  readonly parameters: readonly string[]
  readonly totalTrials?: number
  readonly startedAt?: string
  readonly status?: SweepStatus
  readonly reason?: string
  readonly durationMs?: number
  readonly config?: string
  /** Parameters the sweep draws on a log scale (`log_uniform_values`, `q_log_uniform_values`): plotted on a log axis. */
  readonly logParameters: readonly string[]
  /** In the sweep's rank order (core's sweep/ranking.ts): state, objective, cost, trial number. */
  readonly trials: readonly TrialReport[]
  readonly best?: number
  readonly messages: readonly { readonly level: string; readonly text: string }[]
  readonly badLines: number
  /** Where the recipe changed; empty while every trial ran the recipe the sweep started with. */
  readonly recipes: readonly RecipeChange[]
}

const SWEEP_TAGS = new Set(['SweepStarted', 'TrialStarted', 'TrialMetrics', 'TrialFinished', 'SweepLog', 'SweepFinished'])

/** Reads sweep events (the trials' wrapped run events are left out: each trial folder has its own). */
export function readSweepEvents(file: string): { events: SweepEvent[]; badLines: number } {
  return readTaggedLines<SweepEvent>(file, (tag) => SWEEP_TAGS.has(tag))
}

/** Whether a folder holds a sweep (its events start with `SweepStarted`) rather than a run. */
export function isSweepDir(dir: string): boolean {
  const file = join(dir, 'events.jsonl')
  if (!existsSync(file)) return existsSync(join(dir, 'sweep.resolved.yaml'))
  const first = readUserText(file, FILE_KINDS.textData).split('\n', 1)[0] ?? ''
  return first.includes('"SweepStarted"')
}

export function readSweep(dir: string): SweepReport {
  if (!existsSync(dir)) throw new ReportError({ dir, reason: 'no such folder' })
  const { events, badLines } = readSweepEvents(join(dir, 'events.jsonl'))
  // The header is the first start's; the status is the last end's (also while a resumed sweep goes on).
  const start = events.find((e): e is Extract<SweepEvent, { _tag: 'SweepStarted' }> => e._tag === 'SweepStarted')
  if (!start) throw new ReportError({ dir, reason: 'its events.jsonl holds no sweep (no SweepStarted event)' })
  const finished = events.filter((e): e is Extract<SweepEvent, { _tag: 'SweepFinished' }> => e._tag === 'SweepFinished').at(-1)
  const view = foldSweep(events)
  const goal = start.metric.goal
  const better = (a: number, b: number) => betterObjective(goal, a, b)
  const trials = view.trials.map((t): TrialReport => {
    const report = t.runDir && existsSync(join(t.runDir, 'report.html'))
    const rel = t.runDir && relative(dir, t.runDir)
    // Inside the sweep folder, paths relative to it, so that the page's links work when it is moved.
    const runDir = rel && !rel.startsWith('..') ? rel : t.runDir
    const value = t.value ?? (t.curve.length > 0 ? t.curve.map(([, v]) => v).reduce((a, b) => (better(b, a) ? b : a)) : undefined)
    return { ...t, value, runDir, report: report ? join(runDir!, 'report.html') : undefined }
  })
  // The sweep's one ranking rule (core's sweep/ranking.ts), as the leaderboard and best.yaml.
  const ranked = rankTrials(trials, goal, (t) => rankOfRow(t, t.value))
  const best = finished?.best?.trial ?? ranked.find((t) => t.value !== undefined && t.state !== 'running' && t.state !== 'failed')?.number
  const messages = events.flatMap((e): SweepReport['messages'] =>
    e._tag === 'TrialFinished' && e.state === 'failed'
      ? [{ level: 'error', text: `trial ${e.trial} failed${e.reason ? `: ${e.reason}` : ''}` }]
      : e._tag === 'SweepLog' && e.level !== 'info'
        ? [{ level: e.level, text: e.message }]
        : [],
  )
  const configFile = join(dir, 'sweep.resolved.yaml')
  const config = existsSync(configFile) ? readUserText(configFile, FILE_KINDS.yaml) : undefined
  return {
    sweepDir: dir,
    sweep: start.sweep,
    file: start.file,
    method: start.method,
    metric: start.metric,
    parameters: start.parameters,
    totalTrials: start.totalTrials,
    startedAt: start.time,
    status: finished?.status,
    reason: finished?.reason,
    durationMs: finished?.durationMs,
    config,
    logParameters: logParametersOf(config),
    trials: ranked,
    best,
    messages,
    badLines,
    recipes: view.recipes,
  }
}

/** The parameters whose distribution is on a log scale, from the resolved sweep file (none when it cannot be read). */
function logParametersOf(config: string | undefined): string[] {
  if (config === undefined) return []
  let doc: unknown
  try {
    doc = parse(config)
  } catch {
    return []
  }
  const params = (doc as { parameters?: unknown } | null)?.parameters
  if (typeof params !== 'object' || params === null) return []
  return Object.entries(params as Record<string, unknown>)
    .filter(([, p]) => typeof p === 'object' && p !== null && ['log_uniform_values', 'q_log_uniform_values'].includes(String((p as { distribution?: unknown }).distribution)))
    .map(([name]) => name)
}
