// Line-oriented progress of a sweep for non-terminals (CI, pipes): one line when a trial starts,
// after each of its evaluations and when it ends; no escape codes. With --verbose the trials'
// own training lines follow, prefixed by the trial. Failures and warnings go to stderr.
import type { Assignment, StageContext, SweepEvent, SweepEventSink } from '@lorapipe/core'
import { counts, foldSweep, initialSweepView } from '@lorapipe/core/views/sweep.ts'
import { duration, num } from './format.ts'
import { paramValue } from './parameters.ts'
import { plainSink } from './plain.ts'

export interface SweepPlainOptions {
  readonly quiet?: boolean
  readonly verbose?: boolean
  readonly out?: (line: string) => void
  readonly err?: (line: string) => void
}

export const trialLabel = (n: number) => `[trial ${String(n).padStart(4, '0')}]`

/** `lora.r=8 trainer.learning_rate=0.0001`: values as short text, lists and maps as JSON. */
export function assignmentText(a: Assignment): string {
  return Object.entries(a)
    .map(([k, v]) => `${k}=${paramValue(v)}`)
    .join(' ')
}

/** `/x/base.yaml changed, /x/stage.ts added`: the files of a change of recipe. */
export function recipeFilesText(files: readonly { readonly path: string; readonly change: string }[]): string {
  return files.map((f) => `${f.path} ${f.change}`).join(', ')
}

export function sweepPlainSink(opts: SweepPlainOptions = {}): SweepEventSink {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'))
  const err = opts.err ?? ((l: string) => process.stderr.write(l + '\n'))
  const info = (l: string) => {
    if (!opts.quiet) out(l)
  }
  let view = initialSweepView()
  const trialSinks = new Map<number, ReturnType<typeof plainSink>>()
  const indent = (s: string) => s.split('\n').join('\n    ')
  return (e: SweepEvent) => {
    view = foldSweep([e], view)
    const metric = view.metric?.name ?? 'objective'
    switch (e._tag) {
      case 'SweepStarted': {
        const cap = e.totalTrials !== undefined ? `up to ${e.totalTrials} trials` : 'until stopped'
        info(
          `sweep ${e.sweep}${e.resumed ? ' (resumed)' : ''}: ${e.method} over ${e.parameters.join(', ') || 'no parameters'}; ${e.metric.goal} ${e.metric.name}${e.metric.target !== undefined ? ` (target ${e.metric.target})` : ''}; ${cap}, ${e.concurrency} at a time -> ${e.sweepDir}`,
        )
        const last = e.recipes?.at(-1)
        if (last) info(`recipe ${last.recipe} since ${last.time} (${recipeFilesText(last.files)}): trials assigned from then on run under it`)
        return
      }
      case 'TrialStarted':
        return info(`${trialLabel(e.trial)} ${e.resumed ? 'resumed from its last checkpoint' : 'started'}${e.recipe !== undefined ? ` (recipe ${e.recipe})` : ''}: ${assignmentText(e.assignment)}`)
      case 'TrialMetrics':
        return info(`${trialLabel(e.trial)} eval ${e.evaluation} (step ${e.step}): ${metric} ${num(e.value)}`)
      case 'TrialFinished': {
        const took = `after ${duration(e.durationMs)}`
        if (e.state === 'completed') return info(`${trialLabel(e.trial)} completed ${took}: ${metric} ${e.value !== undefined ? num(e.value) : '?'}`)
        if (e.state === 'pruned') return info(`${trialLabel(e.trial)} pruned ${took}${e.reason ? `: ${e.reason}` : ''}`)
        return err(`${trialLabel(e.trial)} failed ${took}${e.reason ? `:\n    ${indent(e.reason)}` : ''}`)
      }
      case 'TrialEvent': {
        if (!opts.verbose) return
        let sink = trialSinks.get(e.trial)
        if (!sink) {
          const tag = trialLabel(e.trial)
          sink = plainSink({ verbose: true, out: (l) => out(`${tag} ${l}`), err: (l) => err(`${tag} ${l}`) })
          trialSinks.set(e.trial, sink)
        }
        return sink(e.event)
      }
      case 'SweepLog':
        return e.level === 'info' ? info(e.message) : err(`${e.level}: ${e.message}`)
      case 'SweepFinished': {
        const best = e.best ? `; best: trial ${e.best.trial}, ${metric} ${num(e.best.value)}` : ''
        const line = `sweep ${e.status} in ${duration(e.durationMs)}: ${e.reason}${best}`
        return e.status === 'finished' || e.status === 'stopped' ? out(line) : err(line)
      }
    }
  }
}

/** A `uses: sweep` stage's view of its sweep: a log line per trial start and end, trials done as its progress. */
export function sweepStageSink(ctx: StageContext, total: number | undefined): SweepEventSink {
  let view = initialSweepView()
  return (e: SweepEvent) => {
    view = foldSweep([e], view)
    const metric = view.metric?.name ?? 'objective'
    const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => ctx.emitSync({ _tag: 'Log', level, message })
    switch (e._tag) {
      case 'SweepStarted':
        return log(`sweep ${e.sweep}${e.resumed ? ' (resumed)' : ''}: ${e.method}, ${e.metric.goal} ${e.metric.name}, ${e.concurrency} at a time -> ${e.sweepDir}`)
      case 'TrialStarted':
        return log(`${trialLabel(e.trial)} ${e.resumed ? 'resumed' : 'started'}: ${assignmentText(e.assignment)}`)
      case 'TrialFinished':
        if (total !== undefined) ctx.emitSync({ _tag: 'Progress', step: counts(view).finished, totalSteps: total })
        return log(`${trialLabel(e.trial)} ${e.state}${e.value !== undefined ? `: ${metric} ${num(e.value)}` : ''}${e.state !== 'completed' && e.reason ? ` (${e.reason.split('\n')[0]})` : ''}`, e.state === 'failed' ? 'warn' : 'info')
      case 'SweepLog':
        return log(e.message, e.level)
      case 'SweepFinished':
        return log(`sweep ${e.status}: ${e.reason}`)
      default:
        return
    }
  }
}
