// Everything the sweep report shows, read back from a sweep folder's `events.jsonl` (the sweep
// events: assignments, each trial's objective after every evaluation, outcomes) and its
// `sweep.resolved.yaml`. Works for a sweep that is still running, was interrupted or failed.
import { existsSync } from 'node:fs'
import { FILE_KINDS, readUserText } from '@lorapipe/core/fs/user-file.ts'
import { join, relative } from 'node:path'
import type { Assignment, Goal, SweepEvent, SweepStatus, TrialState } from '@lorapipe/core'
import { readTaggedLines, ReportError } from './run-data.ts'

export interface TrialReport {
  readonly number: number
  readonly assignment: Assignment
  readonly state: TrialState
  /** The trial's objective: its final value, else the best it reported. */
  readonly value?: number
  /** The objective after each evaluation: [training step, value]. */
  readonly curve: readonly (readonly [number, number])[]
  readonly evaluations: number
  readonly durationMs?: number
  readonly reason?: string
  /** The trial's run folder, relative to the sweep folder when inside it. */
  readonly runDir?: string
  /** Its own report, relative to the sweep folder, when it exists. */
  readonly report?: string
  /** The recipe it ran under: 1 unless the recipe changed before it was assigned. */
  readonly recipe: number
}

/** A change of recipe during the sweep (files edited, resumed with `--accept-changes`). */
export interface RecipeChangeReport {
  readonly recipe: number
  readonly time: string
  readonly files: readonly { readonly path: string; readonly change: string }[]
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
  /** Best first (by the goal); trials without a value after, by number. */
  readonly trials: readonly TrialReport[]
  readonly best?: number
  readonly messages: readonly { readonly level: string; readonly text: string }[]
  readonly badLines: number
  /** Where the recipe changed; empty while every trial ran the recipe the sweep started with. */
  readonly recipes: readonly RecipeChangeReport[]
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

const betterThan = (goal: Goal) => (a: number, b: number) => (goal === 'maximize' ? a > b : a < b)

export function readSweep(dir: string): SweepReport {
  if (!existsSync(dir)) throw new ReportError({ dir, reason: 'no such folder' })
  const { events, badLines } = readSweepEvents(join(dir, 'events.jsonl'))
  const start = events.find((e): e is Extract<SweepEvent, { _tag: 'SweepStarted' }> => e._tag === 'SweepStarted')
  if (!start) throw new ReportError({ dir, reason: 'its events.jsonl holds no sweep (no SweepStarted event)' })
  const goal = start.metric.goal
  const better = betterThan(goal)
  type Mutable = { -readonly [K in keyof Omit<TrialReport, 'curve'>]: TrialReport[K] } & { curve: [number, number][] }
  const trials = new Map<number, Mutable>()
  const trial = (n: number): Mutable => {
    let t = trials.get(n)
    if (!t) trials.set(n, (t = { number: n, assignment: {}, state: 'running', curve: [], evaluations: 0, recipe: 1 }))
    return t
  }
  const messages: { level: string; text: string }[] = []
  let finished: Extract<SweepEvent, { _tag: 'SweepFinished' }> | undefined
  let recipes: readonly RecipeChangeReport[] = []
  for (const e of events) {
    switch (e._tag) {
      case 'SweepStarted':
        // Each (re)start lists every change so far.
        if (e.recipes && e.recipes.length >= recipes.length) recipes = e.recipes
        break
      case 'TrialStarted': {
        const t = trial(e.trial)
        t.assignment = e.assignment
        t.state = 'running'
        t.runDir = e.runDir
        t.recipe = e.recipe ?? 1
        break
      }
      case 'TrialMetrics': {
        const t = trial(e.trial)
        // A resumed trial reports its evaluations again from its checkpoint: keep one per evaluation.
        t.curve = t.curve.filter(([step]) => step !== e.step)
        t.curve.push([e.step, e.value])
        t.curve.sort((a, b) => a[0] - b[0])
        t.evaluations = Math.max(t.evaluations, e.evaluation)
        break
      }
      case 'TrialFinished': {
        const t = trial(e.trial)
        t.state = e.state
        t.durationMs = e.durationMs
        t.reason = e.reason
        if (e.value !== undefined && Number.isFinite(e.value)) t.value = e.value
        if (e.state === 'failed') messages.push({ level: 'error', text: `trial ${e.trial} failed${e.reason ? `: ${e.reason}` : ''}` })
        break
      }
      case 'SweepLog':
        if (e.level !== 'info') messages.push({ level: e.level, text: e.message })
        break
      case 'SweepFinished':
        finished = e
        break
    }
  }
  for (const t of trials.values()) {
    if (t.value === undefined && t.curve.length > 0) t.value = t.curve.map(([, v]) => v).reduce((a, b) => (better(b, a) ? b : a))
    if (t.runDir) {
      const rel = relative(dir, t.runDir)
      const inside = rel !== '' && !rel.startsWith('..')
      if (existsSync(join(t.runDir, 'report.html'))) t.report = join(inside ? rel : t.runDir, 'report.html')
      t.runDir = inside ? rel : t.runDir
    }
  }
  const ranked = [...trials.values()].sort((a, b) => {
    if (a.value !== undefined && b.value !== undefined && a.value !== b.value) return better(a.value, b.value) ? -1 : 1
    if ((a.value === undefined) !== (b.value === undefined)) return a.value === undefined ? 1 : -1
    return a.number - b.number
  })
  const best = finished?.best?.trial ?? ranked.find((t) => t.value !== undefined && t.state !== 'running' && t.state !== 'failed')?.number
  const configFile = join(dir, 'sweep.resolved.yaml')
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
    config: existsSync(configFile) ? readUserText(configFile, FILE_KINDS.yaml) : undefined,
    trials: ranked,
    best,
    messages,
    badLines,
    recipes,
  }
}
