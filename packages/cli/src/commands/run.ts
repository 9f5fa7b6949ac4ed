import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as Fiber from 'effect/Fiber'
import * as Layer from 'effect/Layer'
import { BuiltinStages, defaultRunDir, findStageRefs, formatLocation, readRunRecord, eventsLayer, jsonlFileSink, prepareRunDir, runPipeline, type EventSink } from '@lorapipe/core'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { jsonSink } from '../output/json.ts'
import { plainSink } from '../output/plain.ts'
import { REPORT_FILE, writeReport } from '../report/write.ts'
import { wantsInk } from '../ui/select.ts'
import { runHelp } from './help.ts'
import { load, reportInvalid } from './load.ts'

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      set: { type: 'string', multiple: true },
      out: { type: 'string' },
      resume: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean' },
    },
    'run',
  )
  if (values.help) return (process.stdout.write(runHelp), EXIT.ok)
  // `--resume DIR` continues the run in DIR with the pipeline file and --set values it was started with.
  const resumed = values.resume !== undefined ? readRunRecord(values.resume) : undefined
  if (resumed && 'error' in resumed) {
    process.stderr.write(`error: ${resumed.error}\n`)
    return EXIT.badInput
  }
  if (values.resume !== undefined && values.out !== undefined) throw new UsageError('--resume DIR already names the run folder; drop --out')
  if (resumed) {
    if (positionals.length === 0) positionals.push(resumed.file)
    values.out = values.resume
    values.set = [...resumed.sets, ...(values.set ?? [])]
  }
  if (positionals.length !== 1) throw new UsageError(`expected one pipeline file, got ${positionals.length}\n\n${runHelp}`)
  let concurrency: number | undefined
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency)
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency must be a whole number >= 1, not ${values.concurrency}`)
  }
  const sets = values.set ?? []
  const r = await load(positionals[0]!, sets)
  if (!r.ok) {
    process.stderr.write(reportInvalid(r.error))
    return EXIT.badInput
  }
  const p = r.pipeline
  const runDir = values.out ? resolve(values.out) : defaultRunDir(p)
  if (!resumed && existsSync(join(runDir, 'run.json'))) {
    process.stderr.write(`error: ${runDir} already holds a run\n  hint: \`lorapipe run --resume ${values.out ?? runDir}\` continues it; or choose another --out\n`)
    return EXIT.badInput
  }
  if (!resumed) {
    // Inputs that are local (or cached) are checked before the run folder exists: bad data is
    // bad input (exit 2), and nothing is written.
    const { preflightStage } = await import('@lorapipe/runner/stages/preflight.ts')
    const problems: string[] = []
    for (const node of p.stages.values()) {
      if (findStageRefs(node.params).length > 0) continue
      const problem = await preflightStage(node.uses, node.params as Record<string, unknown>, p.dir, p.seed)
      if (problem) problems.push(`${node.location ? `${formatLocation(node.location)}: ` : ''}error: stage \`${node.id}\`: ${problem}`)
    }
    if (problems.length > 0) {
      process.stderr.write(`${problems.join('\n')}\nnothing was run or written\n`)
      return EXIT.badInput
    }
  }
  prepareRunDir(p, runDir, sets)

  const sinks: EventSink[] = [jsonlFileSink(join(runDir, 'events.jsonl'))]
  // The Ink UI on a terminal (not CI, not --json or --quiet); plain lines otherwise.
  const ui = !values.json && !values.quiet && wantsInk(process.stdout, process.env) ? (await import('../ui/sink.tsx')).inkUi({ verbose: values.verbose, reportPath: join(runDir, REPORT_FILE) }) : undefined
  sinks.push(values.json ? jsonSink() : ui ? ui.sink : plainSink({ quiet: values.quiet, verbose: values.verbose }))
  // The runner (TensorFlow.js) is loaded only when something runs.
  const { builtinStageImplementations } = await import('@lorapipe/runner/stages/index.ts')
  // `uses: sweep` runs trials as child processes, which the CLI owns: it joins the runner's stages here.
  const builtins = new Map(builtinStageImplementations()).set('sweep', (params, ctx) => Effect.flatMap(Effect.promise(() => import('../sweep/stage.ts')), (m) => m.sweepStage(params, ctx)))
  const layer = Layer.merge(eventsLayer(sinks), Layer.succeed(BuiltinStages, builtins))
  const fiber = Effect.runFork(runPipeline(p, { runDir, concurrency, resume: resumed !== undefined }).pipe(Effect.provide(layer)))

  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    signals++
    if (signals > 1) process.exit(EXIT.interrupted)
    const msg = `${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping cleanly (press Ctrl-C again to exit at once)`
    if (ui) ui.notice(msg)
    else if (!values.json) process.stderr.write(`\n${msg}\n`)
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const exit = await Effect.runPromise(Fiber.await(fiber))
    if (Exit.isSuccess(exit)) return exit.value.status === 'succeeded' ? EXIT.ok : exit.value.status === 'interrupted' ? EXIT.interrupted : EXIT.failed
    return Exit.isInterrupted(exit) ? EXIT.interrupted : EXIT.failed
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // The report, from what the run folder holds now (also after a failure or an interruption).
    try {
      const file = writeReport(runDir)
      if (!ui && !values.json && !values.quiet) process.stdout.write(`report: ${file}\n`)
    } catch (e) {
      const msg = `could not write the report: ${(e as Error).message}`
      if (ui) ui.notice(msg)
      else process.stderr.write(`warning: ${msg}\n`)
    }
    await ui?.close()
  }
}
