// The `lorapipe` command: dispatches to a command and turns its result into the exit code.
import { UsageError } from './args.ts'
import { planCommand } from './commands/plan.ts'
import { mainHelp, VERSION } from './commands/help.ts'
import { runCommand } from './commands/run.ts'
import { validateCommand } from './commands/validate.ts'
import { EXIT } from './exit-codes.ts'
import { didYouMean } from '@lorapipe/core'

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  validate: validateCommand,
  plan: planCommand,
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(mainHelp)
    return cmd === undefined ? EXIT.badInput : EXIT.ok
  }
  if (cmd === '--version' || cmd === '-v') return (process.stdout.write(VERSION + '\n'), EXIT.ok)
  const command = commands[cmd]
  if (!command) {
    const hint = didYouMean(cmd, Object.keys(commands))
    process.stderr.write(`error: unknown command \`${cmd}\`${hint ? `; ${hint}` : ''}\nsee \`lorapipe --help\`\n`)
    return EXIT.badInput
  }
  try {
    return await command(rest)
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`)
      return EXIT.badInput
    }
    throw e
  }
}

const code = await main(process.argv.slice(2))
// Let stdout drain before exiting (pipes are asynchronous in Node).
process.stdout.write('', () => process.exit(code))
