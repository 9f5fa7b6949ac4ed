// The `lorapipe` command: dispatches to a command and turns its result into the exit code.
import { finalExitCode, guardOutput, reportFailure } from './errors.ts'
import { mainHelp } from './commands/help.ts'
import { VERSION } from '@lorapipe/core/version.ts'
import { EXIT } from './exit-codes.ts'
import { closest } from '@lorapipe/core/suggest.ts'
import { exitProcess } from '@lorapipe/core/graph/process-watch.ts'

// Commands are imported when used, so `--help` and `--version` start fast.
const commands: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  run: () => import('./commands/run.ts').then((m) => m.runCommand),
  validate: () => import('./commands/validate.ts').then((m) => m.validateCommand),
  plan: () => import('./commands/plan.ts').then((m) => m.planCommand),
  predict: () => import('./commands/predict.ts').then((m) => m.predictCommand),
  score: () => import('./commands/score.ts').then((m) => m.scoreCommand),
  cache: () => import('./commands/cache.ts').then((m) => m.cacheCommand),
  report: () => import('./commands/report.ts').then((m) => m.reportCommand),
  sweep: () => import('./commands/sweep.ts').then((m) => m.sweepCommand),
  worker: () => import('./commands/worker.ts').then((m) => m.workerCommand),
  export: () => import('./commands/export.ts').then((m) => m.exportCommand),
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(mainHelp)
    return cmd === undefined ? EXIT.badInput : EXIT.ok
  }
  if (cmd === '--version' || cmd === '-v') return (process.stdout.write(VERSION + '\n'), EXIT.ok)
  const load = commands[cmd]
  if (!load) {
    const hint = closest(cmd, Object.keys(commands))
    process.stderr.write(`error: unknown command \`${cmd}\`${hint ? `; did you mean \`${hint}\`?` : ''}\nsee \`lorapipe --help\`\n`)
    return EXIT.badInput
  }
  try {
    return await (await load())(rest)
  } catch (e) {
    // Usage errors, file-system errors and tagged errors alike: one message, no stack trace.
    return reportFailure(e)
  }
}

guardOutput()
const code = await main(process.argv.slice(2))
// Let stdout drain before exiting (pipes are asynchronous in Node); output that could not be
// written makes the command fail. lorapipe ends the process itself (a stage may not: process-watch.ts).
process.stdout.write('', (err) => exitProcess(finalExitCode(code, err)))
