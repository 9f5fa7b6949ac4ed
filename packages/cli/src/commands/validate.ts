import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { validateHelp } from './help.ts'
import { diagnosticsJson, load, reportInvalid } from './load.ts'

export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { set: { type: 'string', multiple: true }, json: { type: 'boolean' } }, 'validate')
  if (values.help) return (process.stdout.write(validateHelp), EXIT.ok)
  if (positionals.length !== 1) throw new UsageError(`expected one pipeline file, got ${positionals.length}\n\n${validateHelp}`)
  const r = await load(positionals[0]!, values.set ?? [])
  if (values.json) {
    process.stdout.write(JSON.stringify(r.ok ? { valid: true, errors: [] } : { valid: false, errors: diagnosticsJson(r.error) }) + '\n')
    return r.ok ? EXIT.ok : EXIT.badInput
  }
  if (!r.ok) {
    process.stderr.write(reportInvalid(r.error))
    return EXIT.badInput
  }
  const stages = [...r.pipeline.stages.values()]
  process.stdout.write(`${positionals[0]} is valid: pipeline \`${r.pipeline.name}\`, ${stages.length} stage${stages.length === 1 ? '' : 's'} (${stages.map((s) => `${s.id}: ${s.uses}`).join(', ')})\n`)
  return EXIT.ok
}
