// The `compare` stage: the seed's table of methods side by side (trainable parameters, final eval
// loss and accuracy, eval runtime and throughput, train runtime), ranked by one metric.
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { join } from 'node:path'
import * as Data from 'effect/Data'
import { writeFileAtomic, writeJsonAtomic, type RunMetrics, type StageContext } from '@lorapipe/core'
import type { CompareParams } from '@lorapipe/core/stage/builtins.ts'

export class CompareError extends Data.TaggedError('CompareError')<{ readonly file: string; readonly method: string; readonly reason: string }> {
  override get message() {
    return `compare: cannot read the metrics of \`${this.method}\` from ${this.file}: ${this.reason}`
  }
}

export interface ComparisonRow {
  readonly method: string
  readonly trainable_params: number
  readonly total_params: number
  readonly trainable_percent: number
  readonly eval_loss: number
  readonly eval_accuracy: number
  readonly eval_f1: number
  readonly eval_runtime_s: number
  readonly eval_samples_per_s: number
  readonly train_runtime_s: number
}

export function readMetrics(file: string, method: string): RunMetrics {
  let raw: string
  try {
    raw = readUserText(file, FILE_KINDS.config)
  } catch (e) {
    if (!(e instanceof UserFileError)) throw e
    throw new CompareError({ file, method, reason: e.problem === 'not found' && e.target === undefined ? 'file not found' : e.reason })
  }
  let m: RunMetrics
  try {
    m = JSON.parse(raw) as RunMetrics
  } catch (e) {
    throw new CompareError({ file, method, reason: `not valid JSON (${(e as Error).message})` })
  }
  for (const k of ['loss', 'runtime_s', 'samples_per_s'] as const)
    if (typeof m?.eval?.[k] !== 'number') throw new CompareError({ file, method, reason: `missing number eval.${k}` })
  if (typeof m.trainable_params !== 'number' || typeof m.total_params !== 'number') throw new CompareError({ file, method, reason: 'missing trainable_params / total_params' })
  return m
}

export function compareRows(runs: Readonly<Record<string, RunMetrics>>): ComparisonRow[] {
  return Object.entries(runs).map(([method, m]) => ({
    method,
    trainable_params: m.trainable_params,
    total_params: m.total_params,
    trainable_percent: (100 * m.trainable_params) / m.total_params,
    eval_loss: m.eval.loss,
    // A causal LM's evaluation has no accuracy or F1.
    eval_accuracy: m.eval.accuracy ?? Number.NaN,
    eval_f1: m.eval.f1 ?? Number.NaN,
    eval_runtime_s: m.eval.runtime_s,
    eval_samples_per_s: m.eval.samples_per_s,
    train_runtime_s: m.train.runtime_s,
  }))
}

const fmtInt = (n: number) => n.toLocaleString('en-US')

export function markdownTable(rows: readonly ComparisonRow[]): string {
  const head = ['method', 'trainable params', 'trainable %', 'eval loss', 'eval accuracy', 'eval F1', 'eval runtime (s)', 'eval samples/s', 'train runtime (s)']
  const body = rows.map((r) => [
    r.method,
    fmtInt(r.trainable_params),
    r.trainable_percent.toFixed(2),
    r.eval_loss.toFixed(4),
    r.eval_accuracy.toFixed(4),
    r.eval_f1.toFixed(4),
    r.eval_runtime_s.toFixed(2),
    r.eval_samples_per_s.toFixed(2),
    r.train_runtime_s.toFixed(1),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  return [line(head), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`, ...body.map(line)].join('\n') + '\n'
}

export async function compareStage(params: CompareParams, ctx: StageContext) {
  const metric = params.metric
  const runs: Record<string, RunMetrics> = {}
  for (const [method, file] of Object.entries(params.runs)) runs[method] = readMetrics(ctx.resolvePath(file), method)
  const key = (metric.startsWith('eval_') ? metric : `eval_${metric}`) as keyof ComparisonRow
  const lowerIsBetter = key === 'eval_loss'
  const rows = compareRows(runs).sort((a, b) => (lowerIsBetter ? 1 : -1) * ((a[key] as number) - (b[key] as number)))
  const json = join(ctx.dir, 'comparison.json')
  const markdown = join(ctx.dir, 'comparison.md')
  writeJsonAtomic(json, { metric, rows })
  const table = markdownTable(rows)
  writeFileAtomic(markdown, table)
  ctx.emitSync({ _tag: 'Log', level: 'info', message: `comparison by ${metric}:\n${table}` })
  return { json, markdown }
}
