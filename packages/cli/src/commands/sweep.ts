// `lorapipe sweep <file>`: runs a hyperparameter sweep, each trial an ordinary run in its own
// process, and `lorapipe sweep --resume <dir>` continues one that was stopped or killed. This
// command reads its arguments, takes core's steps to open the sweep folder (core/src/sweep/folder/open.ts),
// runs the coordinator with the local executor or the queue's, and says what happens.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import * as Cause from 'effect/Cause'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Fiber from 'effect/Fiber'
import * as Option from 'effect/Option'
import { formatDiagnostics, timestamp, type SweepEvent, type SweepEventSink } from '@lorapipe/core'
import { UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { sweepTextsOf, type ValidatedSweep } from '@lorapipe/core/sweep/file/types.ts'
import { runSweep, SweepFolderBusy, type SweepResult } from '@lorapipe/core/sweep/coordinator/coordinator.ts'
import { storageFailure, SweepFolderUnwritable } from '@lorapipe/core/sweep/coordinator/unwritable.ts'
import { localExecutorLayer } from '@lorapipe/core/sweep/executors/local.ts'
import { sweepEventsFile, type SweepStart } from '@lorapipe/core/sweep/folder/files.ts'
import { UNKNOWN_INPUTS_NOTE } from '@lorapipe/core/sweep/folder/inputs.ts'
import { LEADERBOARD_CSV } from '@lorapipe/core/sweep/folder/layout.ts'
import { acceptChanges, createSweepFolder, newFolderRefusal, newStart, resumable, SweepRefused } from '@lorapipe/core/sweep/folder/open.ts'
import { sweepPlan } from '@lorapipe/core/sweep/plan.ts'
import { parseQueueUrl, QueueUrlError, type QueueConnection } from '@lorapipe/queue/connection.ts'
import { queuedSweep, type QueuedSweep } from '@lorapipe/queue/coordinator.ts'
import { sweepHashOf } from '@lorapipe/queue/sweep-hash.ts'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { reportFailure } from '../errors.ts'
import { num } from '../output/format.ts'
import { paramTitles, paramValue } from '../output/parameters.ts'
import { recipeFilesText, sweepPlainSink } from '../output/sweep-plain.ts'
import { sweepHelp } from './help.ts'
import { loadCheckedSweep } from '@lorapipe/runner/preflight/pipeline.ts'
import { printWarnings } from './load.ts'
import { reachQueue } from './reach-queue.ts'
import { checkTrialFiles, lorapipeEntry, writeSweepReportIfAvailable } from './sweep-deps.ts'
import { sweepStatusCommand } from './sweep-status.ts'

const OPTIONS = {
  set: { type: 'string', multiple: true },
  out: { type: 'string' },
  resume: { type: 'string' },
  concurrency: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean' },
  queue: { type: 'string' },
  'queue-password-file': { type: 'string' },
  retries: { type: 'string' },
  'accept-changes': { type: 'boolean' },
} as const

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values']

/** A sweep folder ready for the coordinator. */
interface Opened {
  readonly dir: string
  readonly start: SweepStart
  readonly sweep: ValidatedSweep
  readonly concurrency: number
}

export async function sweepCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, 'sweep')
  if (values.help) return (process.stdout.write(sweepHelp), EXIT.ok)
  // Distributed: trials go to workers through a BullMQ queue on Redis (packages/queue).
  const connection = queueConnection(values)
  if (positionals[0] === 'status' && values.resume === undefined) {
    if (!connection) throw new UsageError('`lorapipe sweep status` needs --queue redis://host:6379: the Redis that the sweeps and workers use')
    return sweepStatusCommand(connection, { json: values.json === true })
  }
  // A wrong password, an unreachable host or an untrusted certificate is said now, before
  // anything is written, not waited on.
  if (connection) {
    const unreachable = await reachQueue(connection)
    if (unreachable !== undefined) return unreachable
  }
  const retries = wholeOption(values.retries, 0, '--retries', () => {
    if (!connection) throw new UsageError('--retries applies to trials on a queue; add --queue URL')
  })
  const concurrency = wholeOption(values.concurrency, 1, '--concurrency')
  if (values['accept-changes'] && values.resume === undefined)
    throw new UsageError('--accept-changes applies to `lorapipe sweep --resume DIR`: it goes on with the sweep after its base pipeline or stage modules were edited')
  const opened = values.resume !== undefined ? await openResumed(values, positionals, concurrency) : await openNew(values, positionals, concurrency)
  if (typeof opened === 'number') return opened
  const queued = connection ? queuedSweep(connection, opened.sweep.name, opened.dir, retries ?? 2, sweepHashOf(opened.dir)) : undefined
  return runAndSay(opened, values, queued, connection)
}

/** The queue the trials go to (--queue, with its password), when there is one. */
function queueConnection(values: Values): QueueConnection | undefined {
  if (values['queue-password-file'] !== undefined && values.queue === undefined) throw new UsageError('--queue-password-file gives the password of the queue; add --queue URL')
  if (values.queue === undefined) return undefined
  try {
    return parseQueueUrl(values.queue, { file: values['queue-password-file'] })
  } catch (e) {
    if (e instanceof QueueUrlError) throw new UsageError(`--queue: ${e.message}`)
    throw e
  }
}

/** A whole-number option of at least `min` (`check`: whether it may be given at all). */
function wholeOption(text: string | undefined, min: number, name: string, check?: () => void): number | undefined {
  if (text === undefined) return undefined
  check?.()
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be a whole number >= ${min}, not ${text}`)
  return n
}

const refused = (e: SweepRefused | SweepFolderBusy) => {
  process.stderr.write(`error: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`)
  return EXIT.badInput
}

/**
 * The sweep file, every trial pipeline it can make, and the files they name, as `run` checks
 * them: bad input is refused here, before the sweep folder exists or any trial runs.
 */
async function loadChecked(start: SweepStart): Promise<ValidatedSweep | number> {
  const loaded = await Effect.runPromise(Effect.either(loadCheckedSweep(start.file, { sets: start.sets })))
  if (loaded._tag === 'Right') {
    printWarnings(loaded.right.warnings, loaded.right.texts)
    return loaded.right
  }
  const e = loaded.left
  process.stderr.write(`${formatDiagnostics(e.diagnostics, sweepTextsOf(e))} in ${e.file}\nnothing was run\n`)
  return EXIT.badInput
}

/** `--resume DIR`: the sweep as it was started (sweep file, --set values, folder), with a change of recipe the user accepts recorded. */
async function openResumed(values: Values, positionals: string[], concurrency: number | undefined): Promise<Opened | number> {
  if (positionals.length > 0) throw new UsageError(`--resume DIR continues the sweep in DIR with the sweep file it was started with; drop ${positionals[0]}`)
  if (values.out !== undefined) throw new UsageError('--resume DIR already names the sweep folder; drop --out')
  if (values.set !== undefined) throw new UsageError('--resume continues the sweep with the --set values it was started with; drop --set')
  const dir = resolve(values.resume!)
  const accept = values['accept-changes'] === true
  const r = resumable(dir, { accept, acceptHow: `pass --accept-changes (\`lorapipe sweep --resume ${values.resume} --accept-changes\`)` })
  if (r instanceof SweepRefused) return refused(r)
  if (r.start.inputs === undefined) process.stderr.write(UNKNOWN_INPUTS_NOTE)
  // Relative --set paths were relative to the folder the sweep was started in.
  if (existsSync(r.start.cwd)) process.chdir(r.start.cwd)
  const sweep = await loadChecked(r.start)
  if (typeof sweep === 'number') return sweep
  let start: SweepStart | SweepFolderBusy
  try {
    // Accepted: the record says where the recipe changed, sweep.json holds the new hashes.
    start = acceptChanges(dir, r, sweep)
  } catch (e) {
    const f = storageFailure(e)
    if (!f) throw e
    return reportFailure(new SweepFolderUnwritable({ dir, path: f.path ?? dir, errno: f.code, saved: 'Nothing was run; the change of recipe may not be recorded, and the next --resume --accept-changes records it.' }))
  }
  if (start instanceof SweepFolderBusy) return refused(start)
  return { dir, start, sweep, concurrency: concurrency ?? (start.concurrency > 0 ? start.concurrency : undefined) ?? sweep.concurrency ?? 1 }
}

/** `lorapipe sweep <file>`: a new sweep folder (--out, else sweeps/<name>/<time>), new or empty, with how the sweep was started. */
async function openNew(values: Values, positionals: string[], concurrency: number | undefined): Promise<Opened | number> {
  if (positionals.length !== 1) throw new UsageError(`expected one sweep file, got ${positionals.length}\n\n${sweepHelp}`)
  const begun = newStart(resolve(positionals[0]!), values.set ?? [], concurrency ?? 0)
  if (begun instanceof UserFileError) {
    process.stderr.write(begun.problem === 'not found' && begun.target === undefined ? `error: ${positionals[0]}: no such file\n` : `error: ${positionals[0]} ${begun.reason}\n  hint: ${begun.hint}\n`)
    return EXIT.badInput
  }
  const sweep = await loadChecked(begun)
  if (typeof sweep === 'number') return sweep
  const conc = concurrency ?? sweep.concurrency ?? 1
  const dir = values.out !== undefined ? resolve(values.out) : resolve('sweeps', sweep.name, timestamp())
  const taken = newFolderRefusal(dir, values.out ?? dir)
  if (taken) return refused(taken)
  const start = createSweepFolder(dir, sweep, begun, conc, 'run the same command again')
  if (start instanceof SweepFolderUnwritable) return reportFailure(start)
  return { dir, start, sweep, concurrency: conc }
}

/** Runs the sweep to its end (or Ctrl-C), its events to events.jsonl and the screen, then its report, leaderboard and what to do next. */
async function runAndSay(o: Opened, values: Values, queued: QueuedSweep | undefined, connection: QueueConnection | undefined): Promise<number> {
  const { dir, sweep } = o
  const sinks: SweepEventSink[] = [sweepEventsFile(dir)]
  const ui = !values.json && !values.quiet && (await import('../ui/select.ts')).wantsInk(process.stdout, process.env) ? await inkUi(values.verbose) : undefined
  sinks.push(values.json ? (e: SweepEvent) => process.stdout.write(JSON.stringify(e) + '\n') : ui ? ui.sink : sweepPlainSink({ quiet: values.quiet, verbose: values.verbose }))
  const local = () => localExecutorLayer({ concurrency: o.concurrency, cwd: o.start.cwd, entry: lorapipeEntry(), checkFiles: checkTrialFiles })
  const program = runSweep(sweepPlan(sweep, dir, o.concurrency, sinks)).pipe(Effect.provide(queued ? queued.layer : local()))
  const fiber = Effect.runFork(program)

  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    signals++
    // A second Ctrl-C exits at once; the trials, orphaned, stop themselves cleanly.
    if (signals > 1) process.exit(EXIT.interrupted)
    const msg = `${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping every trial cleanly (press Ctrl-C again to exit at once)`
    if (ui) ui.notice(msg)
    else if (!values.json) process.stderr.write(`\n${msg}\n`)
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let result: SweepResult | undefined
  let code: number
  // What to say once the UI is closed: why the sweep could not run on (one message, no stack).
  let failure: unknown
  // Whether the sweep folder is ours to write the report into: not when another process holds it.
  let held = true
  try {
    const exit = await Effect.runPromise(Fiber.await(fiber))
    if (Exit.isSuccess(exit)) {
      result = exit.value
      code = result.status === 'finished' || result.status === 'stopped' ? EXIT.ok : result.status === 'interrupted' ? EXIT.interrupted : EXIT.failed
    } else if (Exit.isInterrupted(exit)) code = EXIT.interrupted
    else {
      const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
      if (e instanceof SweepFolderBusy) {
        // A refusal writes nothing: the folder is another coordinator's.
        held = false
        code = refused(e)
      } else {
        // SweepFolderUnwritable (a full disk: the record is whole and resumable), or a defect.
        failure = e ?? Cause.squash(exit.cause)
        code = EXIT.failed
      }
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await queued?.ended(result !== undefined && result.status !== 'interrupted').catch(() => undefined)
    // The report, from what the folder holds; not into a folder that could not be written just now.
    let report: string | undefined
    if (held && !storageFailure(failure) && !(failure instanceof SweepFolderUnwritable)) {
      try {
        report = await writeSweepReportIfAvailable(dir)
      } catch (e) {
        const f = storageFailure(e)!
        const saved = `The sweep ${result?.status ?? 'stopped'}; its record${result ? ', leaderboard and best.yaml are' : ' is'} saved, only its report is not.`
        failure = new SweepFolderUnwritable({ dir, path: f.path ?? dir, errno: f.code, saved, next: `\`lorapipe report ${dir}\` writes it` })
        if (code! === EXIT.ok) code = EXIT.failed
      }
    }
    await ui?.close()
    // The leaderboard and what to do next, also with --quiet; --json prints only events.
    if (!values.json) {
      if (result) process.stdout.write(summaryText(result, sweep))
      if (report && !values.quiet) process.stdout.write(`report: ${report}\n`)
      if (code! === EXIT.interrupted)
        process.stdout.write(`resume with: lorapipe sweep --resume ${dir}${connection ? ` --queue ${connection.display}${values['queue-password-file'] !== undefined ? ` --queue-password-file ${values['queue-password-file']}` : ''}` : ''}\n`)
    }
    if (failure !== undefined) reportFailure(failure)
  }
  return code
}

/** The leaderboard's top rows and the command to run the winner. */
export function summaryText(r: SweepResult, s: Pick<ValidatedSweep, 'metric'>, top = 10): string {
  const rows = r.leaderboard.rows.slice(0, top)
  if (rows.length === 0) return 'no trials\n'
  const params = [...new Set(rows.flatMap((x) => Object.keys(x.parameters)))]
  const cell = (v: unknown) => (v === undefined ? '' : paramValue(v))
  // Once the recipe changed, the recipe each trial ran under.
  const recipes = r.leaderboard.recipes ?? []
  const recipeCell = (x: (typeof rows)[number]) => (x.recipe === undefined ? '' : String(x.recipe))
  const table = [
    ['#', 'trial', ...(recipes.length ? ['recipe'] : []), 'state', s.metric.name, ...paramTitles(params), 'step'],
    ...rows.map((x) => [String(x.rank), String(x.trial), ...(recipes.length ? [recipeCell(x)] : []), x.state, x.objective === undefined ? '' : num(x.objective), ...params.map((p) => cell(x.parameters[p])), String(x.step)]),
  ]
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  const lines = table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())
  const more = r.leaderboard.rows.length > top ? `(${r.leaderboard.rows.length - top} more in ${join(r.dir, LEADERBOARD_CSV)})\n` : ''
  const changed = recipes.map((c) => `the recipe changed at ${c.time}: recipe ${c.recipe} (${recipeFilesText(c.files)}) from trial ${firstTrialOf(r, c.recipe) ?? '(none yet)'} on\n`).join('')
  const best = r.bestFile ? `best: trial ${r.best!.trial}; run it with: lorapipe run ${r.bestFile}\n` : ''
  return `\n${lines.join('\n')}\n${more}${changed}${best}`
}

/** The first trial that started under `recipe`. */
function firstTrialOf(r: SweepResult, recipe: number): number | undefined {
  const ts = r.leaderboard.rows.filter((x) => x.recipe === recipe).map((x) => x.trial)
  return ts.length ? Math.min(...ts) : undefined
}

interface SweepUi {
  readonly sink: SweepEventSink
  readonly notice: (message: string) => void
  readonly close: () => Promise<void>
}

/** The Ink UI of a sweep, when this installation has it. */
async function inkUi(verbose: boolean | undefined): Promise<SweepUi | undefined> {
  try {
    const m = (await import('../ui/sweep-sink.tsx')) as { inkSweepUi?: (o: { verbose?: boolean }) => SweepUi }
    return m.inkSweepUi?.({ ...(verbose ? { verbose } : {}) })
  } catch (e) {
    process.stderr.write(`warning: the terminal UI could not start (${(e as Error).message}); plain lines instead\n`)
    return undefined
  }
}
