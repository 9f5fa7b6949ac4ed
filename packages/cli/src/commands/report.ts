// `lorapipe report <run dir> [--out report.html]`: the run as one self-contained HTML page.
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { ReportError } from '../report/run-data.ts'
import { NotAReport, writeReport } from '../report/write.ts'
import { NotARegularFile } from '@lorapipe/core/fs/atomic.ts'
import { reportHelp } from './help.ts'

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, 'report')
  if (values.help) return (process.stdout.write(reportHelp), EXIT.ok)
  if (positionals.length !== 1) throw new UsageError(`expected one run folder, got ${positionals.length}\n\n${reportHelp}`)
  if (values.out === '') throw new UsageError('--out needs a file path')
  try {
    const file = writeReport(positionals[0]!, values.out, { force: values.force })
    process.stdout.write(`wrote ${file}\n`)
    return EXIT.ok
  } catch (e) {
    if (e instanceof ReportError) {
      process.stderr.write(`error: ${e.message}\n  hint: pass the folder of a run (it holds events.jsonl and config.resolved.yaml), e.g. runs/<name>/<timestamp>\n`)
      return EXIT.badInput
    }
    if (e instanceof NotARegularFile || e instanceof NotAReport) {
      process.stderr.write(`error: ${e.message}\n  hint: ${e.hint}\n`)
      return EXIT.badInput
    }
    throw e
  }
}
