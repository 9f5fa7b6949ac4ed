import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { predictHelp } from './help.ts'
import { escapeControlLine } from '@lorapipe/core/text/control-chars.ts'
import { reportFailure } from '../errors.ts'
import { num } from '../output/format.ts'
import { modelArgumentProblem, resolveModelFolder } from './model-argument.ts'
import type { PredictionScore } from '@lorapipe/runner/predict/predict.ts'

/** Accuracy, F1 and the confusion matrix (rows: true labels, columns: predicted), for a terminal. */
function scoreText(s: PredictionScore): string {
  const names = s.labels.map((n) => escapeControlLine(n))
  const width = Math.max(...names.map((n) => n.length), ...s.confusion.flat().map((c) => String(c).length), 'true \\ predicted'.length)
  const cell = (t: string) => t.padStart(width)
  const rows = [`${'true \\ predicted'.padEnd(width)}  ${names.map(cell).join('  ')}`, ...s.confusion.map((r, i) => `${names[i]!.padEnd(width)}  ${r.map((c) => cell(String(c))).join('  ')}`)]
  return `accuracy ${num(s.accuracy)} (${s.correct} of ${s.total})\nf1 ${num(s.f1)} (${s.labels.length === 2 ? `of ${names[1]}` : 'macro'})\n${rows.join('\n')}\n`
}

export async function predictCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      model: { type: 'string' },
      adapter: { type: 'string' },
      text: { type: 'string', multiple: true },
      input: { type: 'string' },
      'text-column': { type: 'string' },
      'label-column': { type: 'string' },
      'batch-size': { type: 'string' },
      'max-length': { type: 'string' },
      revision: { type: 'string' },
      json: { type: 'boolean' },
    },
    'predict',
  )
  if (values.help) return (process.stdout.write(predictHelp), EXIT.ok)
  if (!values.model && !values.adapter) throw new UsageError('--model <folder or hub id> is required (or --adapter <dir>, whose adapter_config.json names its base model)')
  if (!values.text?.length === !values.input) throw new UsageError('give the texts with --text "..." (repeatable) or --input <file>, not both')
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number >= 1, not ${v}`)
    return n
  }
  const batchSize = int('batch-size', values['batch-size'])
  const maxLength = int('max-length', values['max-length'])
  const problem = await modelArgumentProblem(values, 'distilbert-base-uncased')
  if (problem) return (process.stderr.write(problem), EXIT.badInput)
  try {
    const { readInputs } = await import('@lorapipe/runner/predict/inputs.ts')
    const inputs = values.input ? readInputs(values.input, values['text-column'], values['label-column']) : { texts: values.text! }
    const texts = inputs.texts
    const { selectBackend, describeBackend } = await import('@lorapipe/runner/backend/select.ts')
    const backend = await selectBackend({})
    if (!values.json) process.stderr.write(`${describeBackend(backend)}\n`)
    const modelDir = await resolveModelFolder(values, values.json ?? false)
    const { Predictor } = await import('@lorapipe/runner/predict/predict.ts')
    const predictor = await Predictor.load(modelDir, { ...(values.adapter ? { adapter: values.adapter } : {}), ...(batchSize ? { batchSize } : {}), ...(maxLength ? { maxLength } : {}) })
    const predictions = predictor.predict(texts)
    const names = predictor.labelNames()
    const scored = inputs.labels ? predictor.score(predictions, values.input!, inputs.labels) : undefined
    predictions.forEach((p, i) => {
      const truth = scored ? { true_label: names[scored.truth[i]!] } : {}
      process.stdout.write(
        values.json
          ? JSON.stringify({ text: p.text, label: p.label, ...truth, logits: p.logits, probabilities: Object.fromEntries(names.map((n, j) => [n, p.probabilities[j]])) }) + '\n'
          : `${escapeControlLine(p.label)}\t${num(p.probabilities[p.labelId]!)}\t${escapeControlLine(p.text)}\n`,
      )
    })
    if (scored) process[values.json ? 'stdout' : 'stderr'].write(values.json ? `${JSON.stringify({ summary: scored.score })}\n` : scoreText(scored.score))
    return EXIT.ok
  } catch (e) {
    if (e instanceof UsageError) throw e
    // Reported like every error (path and errno in words, no stack); a model or input that cannot
    // be used is bad input.
    reportFailure(e)
    return EXIT.badInput
  }
}
