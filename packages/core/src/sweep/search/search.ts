// The ask/tell interface to lorapipe's samplers (as Optuna's `study.ask()` / `study.tell()`): a
// search over a declared space with a method and a seed; `ask` gives the next trial's params,
// `tell` its result (or that it was pruned or failed), `report` its intermediate values. Users
// drive the samplers from their own loop with it, and the sweep coordinator runs its trials
// through it. Untold trials are running: the next ask treats them as a sweep's running trials
// (TPE's constant liar, GP's kriging believer), so several may be asked before any is told.
// Deterministic: the same seed and the same calls give the same params.
import * as Data from 'effect/Data'
import { pointerToPath, type Diagnostic } from '../../diagnostics.ts'
import type { Assignment, Goal, Sampler, SearchMethod, SearchSpace, TrialState, TrialView } from '../model.ts'
import { samplerFor } from '../samplers/method.ts'
import { bestOf } from '../ranking.ts'
import { assignmentOf, paramsOf, readSearchOptions, type SearchParameters } from './space.ts'

export type { SearchParameter, SearchParameters } from './space.ts'

export interface SearchOptions {
  /** `grid`, `random`, `tpe` or `gp`, as a sweep file's `method`. */
  readonly method: SearchMethod
  /** Seed of the draws (random, TPE, GP); the sweep file's default when left out. */
  readonly seed?: number
  /** Default: `minimize`. */
  readonly goal?: Goal
  /** The space, in a sweep file's `parameters:` syntax. */
  readonly parameters: SearchParameters
}

/** A trial the search asked for. */
export interface AskedTrial {
  readonly number: number
  /** Parameter name -> value; a `together` parameter's value is its bundle. */
  readonly params: Readonly<Record<string, unknown>>
}

/** How a trial ended, other than completed with a value. */
export type TrialEnd =
  /** Stopped early; `value` is what it reached (default: its last reported value), ranked below the completed trials. */
  | { readonly state: 'pruned'; readonly value?: number }
  /** No result: the samplers leave it out. */
  | { readonly state: 'failed' }

/** A trial as the search holds it. */
export interface SearchTrial extends AskedTrial {
  readonly state: TrialState
  readonly value?: number
  /** Reported values by step. */
  readonly intermediate: ReadonlyMap<number, number>
}

/** A trial run elsewhere (an earlier search, a hand-picked configuration), added to the history. */
export interface PastTrial {
  readonly params: Readonly<Record<string, unknown>>
  /** Default: `completed` when a value is given, else `running`. */
  readonly state?: TrialState
  readonly value?: number
  readonly intermediate?: ReadonlyMap<number, number> | Readonly<Record<number, number>>
}

export interface Search {
  readonly method: string
  readonly goal: Goal
  /** The parameters' names, in order. */
  readonly parameters: readonly string[]
  /** The next trial's params; it runs until told. Throws SearchExhausted when a grid has no point left. */
  ask(): AskedTrial
  /** A trial's result: its objective value (NaN: failed), or that it was pruned or failed. */
  tell(number: number, result: number | TrialEnd): void
  /** A running trial's value at a step (an evaluation), as Optuna's `trial.report`. */
  report(number: number, step: number, value: number): void
  /** Adds a trial run elsewhere (Optuna's `study.add_trial`); returns its number. */
  add(trial: PastTrial): number
  /** Every trial so far, by number. */
  readonly trials: readonly SearchTrial[]
  /** The best completed trial (the earlier one on a tie), if any. */
  readonly best: SearchTrial | undefined
}

/** The options of createSearch are wrong; every problem is listed, each at its place (`parameters.lr.min`). */
export class SearchInvalid extends Data.TaggedError('SearchInvalid')<{ readonly diagnostics: readonly Diagnostic[] }> {
  override get message(): string {
    const lines = this.diagnostics.map((d) => `  ${d.pointer ? `${pointerToPath(d.pointer)}: ` : ''}${d.message}${d.hint ? ` (${d.hint})` : ''}`)
    return `invalid search (${this.diagnostics.length} problem${this.diagnostics.length === 1 ? '' : 's'}):\n${lines.join('\n')}`
  }
}

/** A call that does not fit the trials: an unknown number, a result told twice, bad params or values. */
export class SearchMisuse extends Data.TaggedError('SearchMisuse')<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** Every point of a grid has been asked. */
export class SearchExhausted extends Data.TaggedError('SearchExhausted')<{ readonly method: string; readonly trials: number }> {
  override get message(): string {
    return this.method === 'grid' ? `every grid point was asked (${this.trials} trials)` : `the search space has no untried point left (${this.trials} trials)`
  }
}

/**
 * A search over `parameters` (a sweep file's syntax) with a sweep file's `method` and `seed`.
 * Throws SearchInvalid, naming every problem, when the options are wrong.
 */
export function createSearch(options: SearchOptions): Search {
  const r = readSearchOptions(options)
  if (!r.ok) throw new SearchInvalid({ diagnostics: r.diagnostics })
  const { method, seed, goal, space } = r.settings
  return openSearch({ method, goal, space, sampler: samplerFor(method, seed) })
}

interface Held {
  readonly number: number
  readonly assignment: Assignment
  state: TrialState
  value?: number
  readonly intermediate: Map<number, number>
}

/** A search over an already checked space with any sampler (the sweep coordinator's, tests' own). */
export function openSearch(o: { readonly method: string; readonly goal: Goal; readonly space: SearchSpace; readonly sampler: Sampler }): Search {
  const { space, sampler, goal } = o
  const held: Held[] = []
  const misuse = (reason: string) => new SearchMisuse({ reason })
  const running = (number: number, verb: string): Held => {
    const t = Number.isInteger(number) ? held[number] : undefined
    if (!t) throw misuse(`cannot ${verb} trial ${number}: there is no such trial (trials 0-${held.length - 1} were asked)`)
    if (t.state !== 'running') throw misuse(`cannot ${verb} trial ${number}: it is already ${t.state}`)
    return t
  }
  const history = (): TrialView[] =>
    held.map((t) => ({ number: t.number, assignment: t.assignment, state: t.state, ...(t.value !== undefined ? { value: t.value } : {}), intermediate: t.intermediate }))
  const shown = (t: Held): SearchTrial => ({
    number: t.number,
    params: paramsOf(space, t.assignment),
    state: t.state,
    ...(t.value !== undefined ? { value: t.value } : {}),
    intermediate: new Map(t.intermediate),
  })
  return {
    method: o.method,
    goal,
    parameters: space.map((p) => p.name),
    ask() {
      const a = sampler.next(space, history(), goal)
      if (a === undefined) throw new SearchExhausted({ method: o.method, trials: held.length })
      const t: Held = { number: held.length, assignment: a, state: 'running', intermediate: new Map() }
      held.push(t)
      return { number: t.number, params: paramsOf(space, a) }
    },
    tell(number, result) {
      const t = running(number, 'tell')
      if (typeof result === 'number') {
        // As Optuna: a NaN objective is a failed trial.
        if (Number.isNaN(result)) t.state = 'failed'
        else {
          t.state = 'completed'
          t.value = result
        }
        return
      }
      if (result?.state === 'failed') t.state = 'failed'
      else if (result?.state === 'pruned') {
        if (result.value !== undefined && typeof result.value !== 'number') throw misuse(`trial ${number}: a pruned trial's value must be a number, not ${JSON.stringify(result.value)}`)
        const steps = [...t.intermediate.keys()]
        const v = result.value ?? (steps.length > 0 ? t.intermediate.get(Math.max(...steps)) : undefined)
        t.state = 'pruned'
        if (v !== undefined) t.value = v
      } else throw misuse(`tell(${number}, ${JSON.stringify(result)}): give the objective value, { state: 'pruned' } or { state: 'failed' }`)
    },
    report(number, step, value) {
      const t = running(number, 'report a value of')
      if (!Number.isInteger(step) || step < 0) throw misuse(`trial ${number}: a step is a whole number >= 0, not ${step}`)
      if (typeof value !== 'number') throw misuse(`trial ${number}: a reported value must be a number, not ${JSON.stringify(value)}`)
      t.intermediate.set(step, value)
    },
    add(trial) {
      const r = assignmentOf(space, trial?.params)
      if (!r.ok) throw misuse(`cannot add the trial: ${r.problems.join('; ')}`)
      const state = trial.state ?? (trial.value !== undefined ? 'completed' : 'running')
      if (!['running', 'completed', 'pruned', 'failed'].includes(state)) throw misuse(`cannot add the trial: state ${JSON.stringify(state)} is not running, completed, pruned or failed`)
      if (state === 'completed' && typeof trial.value !== 'number') throw misuse('cannot add the trial: a completed trial needs its value')
      if (trial.value !== undefined && typeof trial.value !== 'number') throw misuse(`cannot add the trial: value must be a number, not ${JSON.stringify(trial.value)}`)
      const entries = trial.intermediate instanceof Map ? [...trial.intermediate] : Object.entries(trial.intermediate ?? {}).map(([k, v]) => [Number(k), v] as const)
      const t: Held = { number: held.length, assignment: r.assignment, state, intermediate: new Map(entries) }
      if (trial.value !== undefined && state !== 'running' && state !== 'failed') t.value = trial.value
      held.push(t)
      return t.number
    },
    get trials() {
      return held.map(shown)
    },
    get best() {
      // The sweep's one ranking rule; the search knows no steps or durations, so a tie goes to the lower number.
      const b = bestOf(held, goal, (t) => ({ number: t.number, state: t.state, ...(t.value !== undefined ? { objective: t.value } : {}) }), (r) => r.state === 'completed')
      return b && shown(b)
    },
  }
}
