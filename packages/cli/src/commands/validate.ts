import { PipelineInvalid } from '@lorapipe/core'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { validateHelp } from './help.ts'
import { diagnosticsJson, load, printWarnings, reportInvalid, warningsJson } from './load.ts'
import { loadCheckedSweep, preflight } from '@lorapipe/runner/preflight/pipeline.ts'
import * as Effect from 'effect/Effect'
import { formatDiagnostics } from '@lorapipe/core/diagnostics.ts'
import { isSweepFile } from '@lorapipe/core/sweep/file/detect.ts'
import { sweepTextsOf } from '@lorapipe/core/sweep/file/types.ts'

export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { set: { type: 'string', multiple: true }, json: { type: 'boolean' } }, 'validate')
  if (values.help) return (process.stdout.write(validateHelp), EXIT.ok)
  if (positionals.length !== 1) throw new UsageError(`expected one pipeline file, got ${positionals.length}\n\n${validateHelp}`)
  if (isSweepFile(positionals[0]!)) return validateSweep(positionals[0]!, values.set ?? [], values.json === true)
  const r = await load(positionals[0]!, values.set ?? [])
  // The same checks as `run` makes before it writes anything (files, data, labels, LoRA targets).
  const checked = r.ok ? await preflight(r.pipeline) : undefined
  const problems = checked?.diagnostics ?? []
  if (values.json) {
    const errors = r.ok ? diagnosticsJson(new PipelineInvalid({ file: r.pipeline.file, diagnostics: problems })) : diagnosticsJson(r.error)
    const warnings = r.ok && r.warnings.length > 0 ? { warnings: warningsJson(r.warnings) } : {}
    process.stdout.write(JSON.stringify({ valid: errors.length === 0, errors, ...warnings, unchecked: checked?.unchecked ?? [] }) + '\n')
    return errors.length === 0 ? EXIT.ok : EXIT.badInput
  }
  if (!r.ok) {
    process.stderr.write(reportInvalid(r.error))
    return EXIT.badInput
  }
  printWarnings(r.warnings, r.pipeline.texts)
  if (problems.length > 0) {
    process.stderr.write(`${formatDiagnostics(problems, r.pipeline.texts)} in ${positionals[0]}\n`)
    return EXIT.badInput
  }
  const stages = [...r.pipeline.stages.values()]
  process.stdout.write(`${positionals[0]} is valid: pipeline \`${r.pipeline.name}\`, ${stages.length} stage${stages.length === 1 ? '' : 's'} (${stages.map((s) => `${s.id}: ${s.uses}`).join(', ')})\n`)
  for (const u of checked!.unchecked) process.stdout.write(`  not checked yet: ${u}\n`)
  return EXIT.ok
}

/**
 * A sweep file: the file, its base with `--set`, every trial pipeline it can produce, and the files
 * its base and its file-naming values name (as `lorapipe sweep` checks before it starts).
 */
async function validateSweep(file: string, sets: readonly string[], json: boolean): Promise<number> {
  const r = await Effect.runPromise(Effect.either(loadCheckedSweep(file, { sets })))
  if (json) {
    const warnings = r._tag === 'Right' && r.right.warnings.length > 0 ? { warnings: warningsJson(r.right.warnings) } : {}
    process.stdout.write(JSON.stringify(r._tag === 'Right' ? { valid: true, errors: [], ...warnings } : { valid: false, errors: r.left.diagnostics.map((d) => ({ file: d.location?.file, line: d.location?.line, column: d.location?.column, pointer: d.pointer, message: d.message, hint: d.hint })) }) + '\n')
    return r._tag === 'Right' ? EXIT.ok : EXIT.badInput
  }
  if (r._tag === 'Left') {
    process.stderr.write(`${formatDiagnostics(r.left.diagnostics, sweepTextsOf(r.left))} in ${r.left.file}\n`)
    return EXIT.badInput
  }
  const s = r.right
  printWarnings(s.warnings, s.texts)
  const trials = s.gridSize !== undefined ? `${Math.min(s.gridSize, s.runCap ?? Infinity)} trials (grid of ${s.gridSize})` : `up to ${s.runCap} trials`
  process.stdout.write(
    `${file} is valid: sweep \`${s.name}\`, ${s.method} over ${s.space.map((p) => p.name).join(', ')}, ${trials}, ${s.metric.goal} ${s.metric.name}` +
      `${s.earlyTerminate ? `, early termination ${s.earlyTerminate.type}` : ''}; base pipeline \`${s.basePipeline.name}\`\n`,
  )
  return EXIT.ok
}
