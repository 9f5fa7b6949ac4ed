// `lorapipe score`: the causal-LM counterpart of `predict`. Parses the arguments and renders what
// the runner's Scorer (runner/src/score) computes: per row the loss over its labelled tokens, their
// count and, with --logits, every position's logits.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { scoreHelp } from './help.ts'
import { reportFailure } from '../errors.ts'
import { modelArgumentProblem, resolveModelFolder } from './model-argument.ts'

/** A float32 value in the fewest digits that read back as the same float32 (9 significant digits always do). */
function float32Text(v: number): string {
  if (!Number.isFinite(v)) return 'null'
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p)
    if (Math.fround(Number(s)) === v) return String(Number(s))
  }
  return String(Number(v.toPrecision(9)))
}

export async function scoreCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      model: { type: 'string' },
      adapter: { type: 'string' },
      revision: { type: 'string' },
      input: { type: 'string' },
      json: { type: 'boolean' },
      logits: { type: 'boolean' },
      'all-tokens': { type: 'boolean' },
      'chat-template': { type: 'string' },
      'max-length': { type: 'string' },
      'batch-size': { type: 'string' },
    },
    'score',
  )
  if (values.help) return (process.stdout.write(scoreHelp), EXIT.ok)
  if (!values.model && !values.adapter) throw new UsageError('--model <folder or hub id> is required (or --adapter <dir>, whose adapter_config.json names its base model)')
  if (!values.input) throw new UsageError('give the rows to score with --input <file> (JSON lines: {"text": ...}, {"messages": [...]}, {"prompt": ..., "completion": ...} or {"input_ids": [...]})')
  if (values.logits && !values.json) throw new UsageError('--logits prints every position\'s logits as JSON: add --json')
  const int = (name: string, v: string | undefined, min: number) => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number >= ${min}, not ${v}`)
    return n
  }
  const batchSize = int('batch-size', values['batch-size'], 1)
  const maxLength = int('max-length', values['max-length'], 2)
  const problem = await modelArgumentProblem(values, 'HuggingFaceTB/SmolLM2-135M')
  if (problem) return (process.stderr.write(problem), EXIT.badInput)
  try {
    // The template given as a file's path, else as the template itself (as tokenizer.chat_template).
    const template = values['chat-template']
    const chatTemplate =
      template === undefined ? undefined : existsSync(template) && statSync(template).isFile() ? readFileSync(template, 'utf8') : template
    const { readScoreRows } = await import('@lorapipe/runner/score/inputs.ts')
    const rows = await readScoreRows(values.input)
    const { selectBackend, describeBackend } = await import('@lorapipe/runner/backend/select.ts')
    const backend = await selectBackend({})
    if (!values.json) process.stderr.write(`${describeBackend(backend)}\n`)
    const modelDir = await resolveModelFolder(values, values.json ?? false)
    const { Scorer } = await import('@lorapipe/runner/score/score.ts')
    const scorer = await Scorer.load(modelDir, {
      ...(values.adapter ? { adapter: values.adapter } : {}),
      ...(maxLength ? { maxLength } : {}),
      ...(values['all-tokens'] ? { allTokens: true } : {}),
      ...(chatTemplate !== undefined ? { chatTemplate } : {}),
    })
    const scores = scorer.score(rows, { logits: values.logits ?? false, ...(batchSize ? { batchSize } : {}) })
    let lossSum = 0
    let tokens = 0
    for (const s of scores) {
      lossSum += s.loss * s.tokens
      tokens += s.tokens
      if (values.json) {
        // Built as text: the logits are float32 values, written in the digits that read back exactly.
        const head = JSON.stringify({ line: s.row.origin.where, loss: s.loss, tokens: s.tokens, input_ids: Array.from(s.inputIds), labels: Array.from(s.labels) })
        const logits = s.logits ? `,"logits":[${s.logits.map((r) => (r === null ? 'null' : `[${Array.from(r, float32Text).join(',')}]`)).join(',')}]` : ''
        process.stdout.write(`${head.slice(0, -1)}${logits}}\n`)
      } else {
        process.stdout.write(`${s.row.origin.where}\t${s.loss.toFixed(6)}\t${s.tokens}\n`)
      }
    }
    if (!values.json) {
      const mean = lossSum / tokens
      process.stderr.write(`${scores.length} row${scores.length === 1 ? '' : 's'}, ${tokens.toLocaleString('en-US')} scored tokens: loss ${mean.toFixed(6)} over all of them (perplexity ${Math.exp(mean).toFixed(4)})\n`)
    }
    return EXIT.ok
  } catch (e) {
    if (e instanceof UsageError) throw e
    // Reported like every error (path and errno in words, no stack); a model, adapter or input
    // that cannot be used is bad input.
    reportFailure(e)
    return EXIT.badInput
  }
}
