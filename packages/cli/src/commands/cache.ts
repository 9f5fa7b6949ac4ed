import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { bytes } from '../output/format.ts'
import { cacheHelp } from './help.ts'

export async function cacheCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, type: { type: 'string' }, yes: { type: 'boolean', short: 'y' } }, 'cache')
  if (values.help || positionals.length === 0) return (process.stdout.write(cacheHelp), values.help ? EXIT.ok : EXIT.badInput)
  const { scanCache, deleteRepo } = await import('@lorapipe/runner/hub/index.ts')
  const [sub, ...rest] = positionals
  if (sub === 'ls') {
    const scan = await scanCache()
    if (values.json) {
      process.stdout.write(JSON.stringify(scan) + '\n')
      return EXIT.ok
    }
    for (const w of scan.warnings) process.stderr.write(`warning: ${w}\n`)
    if (scan.repos.length === 0) {
      process.stdout.write(`the cache at ${scan.cacheDir} is empty\n`)
      return EXIT.ok
    }
    const rows = scan.repos.map((r) => [r.repoId, r.repoType, bytes(r.sizeOnDisk), String(r.nbFiles), Object.keys(r.refs).join(',') || '-', r.lastModified.toISOString().slice(0, 19).replace('T', ' ')])
    const head = ['REPO ID', 'TYPE', 'SIZE', 'FILES', 'REFS', 'LAST MODIFIED']
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n')
    process.stdout.write(`\n${scan.repos.length} repos, ${bytes(scan.sizeOnDisk)} in ${scan.cacheDir}\n`)
    return EXIT.ok
  }
  if (sub === 'rm') {
    if (rest.length === 0) throw new UsageError('which repository? `lorapipe cache rm <repo id> [--type model|dataset]`')
    const type = values.type ?? 'model'
    if (type !== 'model' && type !== 'dataset') throw new UsageError(`--type must be model or dataset, not ${type}`)
    let code: number = EXIT.ok
    for (const id of rest) {
      try {
        const r = await deleteRepo(id, type)
        if (r.deleted) process.stdout.write(`deleted ${type} ${id} (${bytes(r.freedBytes)} freed)\n`)
        else {
          process.stderr.write(`error: ${type} ${id} is not in the cache (see \`lorapipe cache ls\`${type === 'model' ? '; for a dataset add --type dataset' : ''})\n`)
          code = EXIT.badInput
        }
      } catch (e) {
        process.stderr.write(`error: ${(e as { message?: string }).message ?? String(e)}\n`)
        // A name that is not a repo id (`../../x`) is bad input; anything else failed.
        code = (e as { _tag?: string })._tag === 'InvalidHubNameError' ? EXIT.badInput : EXIT.failed
      }
    }
    return code
  }
  throw new UsageError(`unknown cache command \`${sub}\`; use \`lorapipe cache ls\` or \`lorapipe cache rm <repo>\``)
}
