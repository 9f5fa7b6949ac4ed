// Command-line parsing on node's util.parseArgs, with errors that say what to type instead.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { didYouMean } from '@lorapipe/core/suggest.ts'

export class UsageError extends Error {
  readonly _tag = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>

export function parse<O extends Options>(argv: string[], options: O, command: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (e) {
    const msg = (e as Error).message
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg)
    if (unknown) {
      const hint = didYouMean(unknown[1]!.replace(/^-+/, ''), Object.keys(options))
      throw new UsageError(`unknown option ${unknown[1]} for \`lorapipe ${command}\`${hint ? `; ${hint.replace('`', '`--')}` : ''}\nsee \`lorapipe ${command} --help\``)
    }
    throw new UsageError(`${msg}\nsee \`lorapipe ${command} --help\``)
  }
}
