import { existsSync } from 'node:fs'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { predictHelp } from './help.ts'
import { escapeControl, escapeControlLine } from '@lorapipe/core/text/control-chars.ts'
import { modelSchema } from '@lorapipe/core/pipeline/sections/model.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import { reportFailure } from '../errors.ts'
import { num } from '../output/format.ts'
import type { PredictionScore } from '@lorapipe/runner/predict/predict.ts'

/** Accuracy, F1 and the confusion matrix (rows: true labels, columns: predicted), for a terminal. */
function scoreText(s: PredictionScore): string {
  const names = s.labels.map((n) => escapeControlLine(n))
  const width = Math.max(...names.map((n) => n.length), ...s.confusion.flat().map((c) => String(c).length), 'true \\ predicted'.length)
  const cell = (t: string) => t.padStart(width)
  const rows = [`${'true \\ predicted'.padEnd(width)}  ${names.map(cell).join('  ')}`, ...s.confusion.map((r, i) => `${names[i]!.padEnd(width)}  ${r.map((c) => cell(String(c))).join('  ')}`)]
  return `accuracy ${num(s.accuracy)} (${s.correct} of ${s.total})\nf1 ${num(s.f1)} (${s.labels.length === 2 ? `of ${names[1]}` : 'macro'})\n${rows.join('\n')}\n`
}

/** `./model`, `/abs/dir`, `~/m`, `a/b/c`: a path; `name` and `org/name` may be hub ids. */
function looksLikePath(s: string): boolean {
  return /^(\.{1,2}[\\/]|[\\/]|~)/.test(s) || s.split('/').length > 2 || s.includes('\\') || s.endsWith('/')
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
  if (values.model && existsSync(values.model)) {
    const { isAdapterFolder } = await import('@lorapipe/runner/lora/base-model.ts')
    if (isAdapterFolder(values.model)) {
      throw new UsageError(`${values.model} is a PEFT adapter folder, not a model: use --adapter ${values.model} (its base model is read from adapter_config.json; --model overrides it)`)
    }
  }
  // A path that is not there is a missing folder, not a hub id with a typo.
  if (values.model && !existsSync(values.model) && looksLikePath(values.model)) {
    process.stderr.write(`error: the model folder ${escapeControl(values.model)} does not exist\n  hint: give a model folder (config.json, model.safetensors, tokenizer files) or a hub id such as \`distilbert-base-uncased\`\n`)
    return EXIT.badInput
  }
  try {
    const { readInputs } = await import('@lorapipe/runner/predict/inputs.ts')
    const inputs = values.input ? readInputs(values.input, values['text-column'], values['label-column']) : { texts: values.text! }
    const texts = inputs.texts
    const { selectBackend, describeBackend } = await import('@lorapipe/runner/backend/select.ts')
    const backend = await selectBackend({})
    if (!values.json) process.stderr.write(`${describeBackend(backend)}\n`)
    const { resolveModel } = await import('@lorapipe/runner/resolve/index.ts')
    // Without --model, the base the adapter names, as PEFT's AutoPeftModel loads it.
    const { adapterBase } = await import('@lorapipe/runner/lora/base-model.ts')
    const source = values.model
      ? existsSync(values.model)
        ? { path: values.model }
        : { id: values.model, ...(values.revision ? { revision: values.revision } : {}) }
      : adapterBase(values.adapter!)
    if (!values.model && !values.json) process.stderr.write(`base model ${'path' in source ? source.path : source.id} (from ${values.adapter}/adapter_config.json)\n`)
    const model = await resolveModel(withDefaults(modelSchema, source), {
      resolvePath: (p) => p,
      signal: new AbortController().signal,
      emitSync: (e) => {
        if (e._tag === 'Download' && e.done) process.stderr.write(`downloaded ${e.repo}/${e.file}\n`)
        if (e._tag === 'Log' && e.level !== 'debug') process.stderr.write(`${e.message}\n`)
      },
    })
    const { Predictor } = await import('@lorapipe/runner/predict/predict.ts')
    const predictor = await Predictor.load(model.dir!, { ...(values.adapter ? { adapter: values.adapter } : {}), ...(batchSize ? { batchSize } : {}), ...(maxLength ? { maxLength } : {}) })
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
