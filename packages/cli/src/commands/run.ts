import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Effect, Exit, Fiber, Layer } from 'effect'
import { BuiltinStages, defaultRunDir, eventsLayer, jsonlFileSink, prepareRunDir, runPipeline, type EventSink } from '@lorapipe/core'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { jsonSink } from '../output/json.ts'
import { plainSink } from '../output/plain.ts'
import { runHelp } from './help.ts'
import { load, reportInvalid } from './load.ts'

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      set: { type: 'string', multiple: true },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean' },
    },
    'run',
  )
  if (values.help) return (process.stdout.write(runHelp), EXIT.ok)
  if (positionals.length !== 1) throw new UsageError(`expected one pipeline file, got ${positionals.length}\n\n${runHelp}`)
  if (values.resume && !values.out) throw new UsageError('--resume needs --out <run folder> (the folder of the run to continue)')
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
  if (!values.resume && existsSync(join(runDir, 'run.json'))) {
    process.stderr.write(`error: ${runDir} already holds a run\n  hint: pass --resume to continue it, or choose another --out\n`)
    return EXIT.badInput
  }
  prepareRunDir(p, runDir, sets)

  const sinks: EventSink[] = [jsonlFileSink(join(runDir, 'events.jsonl'))]
  sinks.push(values.json ? jsonSink() : plainSink({ quiet: values.quiet, verbose: values.verbose }))
  // The runner (TensorFlow.js) is loaded only when something runs.
  const { builtinStageImplementations } = await import('@lorapipe/runner/stages/index.ts')
  const layer = Layer.merge(eventsLayer(sinks), Layer.succeed(BuiltinStages, builtinStageImplementations()))
  const fiber = Effect.runFork(runPipeline(p, { runDir, concurrency, resume: values.resume }).pipe(Effect.provide(layer)))

  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    signals++
    if (signals > 1) process.exit(EXIT.interrupted)
    if (!values.json) process.stderr.write(`\n${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping cleanly (press Ctrl-C again to exit at once)\n`)
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
  }
}
