// `lorapipe worker --queue URL [--allow DIR ...] [--concurrency N]`: takes trials of distributed
// sweeps from the queue and runs them on this machine until Ctrl-C, which stops its trials cleanly
// and puts them back on the queue (exit 130). It serves only sweeps inside its --allow folders
// (default: the folder it is started in), and trusts nothing that a job says beyond which trial to
// run with which values (the queue package's admission.ts).
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { AllowedFolders } from '@lorapipe/queue/allowed.ts'
import { parseQueueUrl, QueueUrlError } from '@lorapipe/queue/connection.ts'
import { queueTuning, QueueTuningError } from '@lorapipe/queue/tuning.ts'
import { startQueueWorker } from '@lorapipe/queue/worker.ts'
import { workerHelp } from './help.ts'
import { reachQueue } from './reach-queue.ts'
import { checkTrialFiles, lorapipeEntry } from './sweep-deps.ts'

export async function workerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { queue: { type: 'string' }, 'queue-password-file': { type: 'string' }, allow: { type: 'string', multiple: true }, concurrency: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } },
    'worker',
  )
  if (values.help) return (process.stdout.write(workerHelp), EXIT.ok)
  if (positionals.length > 0) throw new UsageError(`\`lorapipe worker\` takes no arguments, got ${positionals[0]}\nsee \`lorapipe worker --help\``)
  if (values.queue === undefined) throw new UsageError('`lorapipe worker` needs --queue redis://host:6379: the Redis that the sweep coordinator uses')
  let connection
  let tuning
  try {
    connection = parseQueueUrl(values.queue, { file: values['queue-password-file'] })
    tuning = queueTuning()
  } catch (e) {
    if (e instanceof QueueUrlError || e instanceof QueueTuningError) throw new UsageError(e.message)
    throw e
  }
  const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency must be a whole number >= 1, not ${values.concurrency}`)
  let allowed: AllowedFolders
  try {
    allowed = AllowedFolders.of(values.allow ?? ['.'])
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const stamp = () => new Date().toISOString().slice(11, 19)
  const say = (line: string) => {
    if (!values.quiet) process.stdout.write(`${stamp()} ${line}\n`)
  }
  // A refused job is said also with --quiet: someone is writing to the queue who should not.
  const warn = (line: string) => (values.quiet ? process.stderr : process.stdout).write(`${stamp()} ${line}\n`)
  say(`worker on ${connection.display}, ${concurrency} trial${concurrency > 1 ? 's' : ''} at a time, serving sweeps in ${allowed.folders.join(', ')}${values.allow ? '' : ' (the current folder; --allow DIR names others)'}`)
  // A wrong password, an unreachable host or an untrusted certificate is said now, not waited on.
  const unreachable = await reachQueue(connection)
  if (unreachable !== undefined) return unreachable
  const worker = startQueueWorker({ connection, concurrency, tuning, allowed, say, warn, entry: lorapipeEntry(), checkFiles: checkTrialFiles })
  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    signals++
    // A second Ctrl-C exits at once; the trials, on their leash, stop themselves cleanly.
    if (signals > 1) process.exit(EXIT.interrupted)
    process.stderr.write(`\n${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping the trials cleanly and putting them back on the queue (press Ctrl-C again to exit at once)\n`)
    worker.shutdown()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  await worker.done
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  return EXIT.interrupted
}
