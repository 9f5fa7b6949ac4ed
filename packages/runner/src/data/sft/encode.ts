// Tokenizes SFT rows into examples with labels, as TRL's SFTTrainer prepares them:
// - chat rows: the chat template renders the prompt (every message but the last, with
//   add_generation_prompt) and the whole conversation; both are encoded with
//   add_special_tokens=false (the template writes <s> itself); the prompt's ids must be the first
//   ids of the conversation's (else the template is at fault and the row is named);
// - prompt/completion rows: EOS is appended to the completion (unless it ends with it), then
//   prompt and prompt + completion are encoded with add_special_tokens=true (TRL only warns when
//   the prompt's ids are not a prefix: counted here, and the first such row named);
// - text rows: EOS appended, encoded with add_special_tokens=true; every token is trained on.
// Labels are the input ids, -100 on the prompt when completion_only_loss (the default, TRL's for
// prompt-completion data). Truncation to max_length keeps the start (TRL's truncation_mode
// keep_start) or the end; a row left without any labelled token is dropped and counted.
import { ChatTemplateRefusal, type ChatMessage } from '../../tokenizer/chat-template.ts'
import type { CausalLmTokenizer } from '../../tokenizer/causal-lm.ts'
import { TokenizerError } from '../../tokenizer/errors.ts'
import { rowError, type RowOrigin, type SftRow } from './rows.ts'

export const IGNORE_INDEX = -100

export type TruncationMode = 'keep_start' | 'keep_end'

export interface SftEncodeOptions {
  /** Longest example in tokens (TRL's max_length); longer ones are truncated. Absent or null: no truncation. */
  maxLength?: number | null
  /** Which part a truncated example keeps (TRL's truncation_mode): keep_start (default) cuts the end. */
  truncationMode?: TruncationMode
  /**
   * Train on the completion only (TRL's completion_only_loss; default true): labels -100 on the
   * prompt. False trains on every token; the prompt is then not tokenized on its own.
   */
  completionOnlyLoss?: boolean
}

/** One tokenized example, not padded. */
export interface SftExample {
  inputIds: Int32Array
  /** inputIds with -100 where no loss is taken (the prompt, by default). Not shifted: the model shifts. */
  labels: Int32Array
  /** Tokens of the prompt kept after truncation (0 for text rows and when training on all tokens). */
  promptLength: number
  origin: RowOrigin
}

/** Counts to show at the start of a run. */
export interface SftStats {
  /** Rows read. */
  rows: number
  /** Examples kept (rows - droppedRows). */
  examples: number
  /** Rows cut to max_length. */
  truncatedRows: number
  /** Rows dropped because truncation left no labelled token (the first one named in `firstDropped`). */
  droppedRows: number
  firstDropped?: string
  /** Tokens of the kept examples, after truncation. */
  tokens: number
  /** Tokens after the prompt (the whole example for text rows and when training on all tokens). */
  completionTokens: number
  /** Tokens the loss is computed on: labels not -100, past the first position (labels are shifted by one). */
  labelledTokens: number
  /** Longest example before truncation. */
  longest: number
  /** prompt/completion rows whose prompt ids are not a prefix of prompt + completion (TRL warns); first one named. */
  promptMismatchRows: number
  firstPromptMismatch?: string
}

function where(origin: RowOrigin): string {
  return origin.unit === 'line' ? `${origin.file}:${origin.where}` : `${origin.file} (row ${origin.where})`
}

function isPrefix(prefix: readonly number[], ids: readonly number[]): boolean {
  if (prefix.length > ids.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== ids[i]) return false
  return true
}

function firstDifference(a: readonly number[] | string, b: readonly number[] | string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

function eosOf(tokenizer: CausalLmTokenizer): string {
  const eos = tokenizer.specialTokens.eos_token
  if (eos) return eos.token
  throw new TokenizerError({
    source: tokenizer.source,
    message: `${tokenizer.source}: the tokenizer has no eos_token, which prompt/completion and text rows end with (as TRL appends it); set eos_token in tokenizer_config.json`,
  })
}

/** Ids of one row, untruncated, and where the completion starts. */
export interface EncodedRow {
  inputIds: number[]
  promptLength: number
  /** False when the prompt's ids were not a prefix (prompt/completion rows; TRL warns and masks by length). */
  promptIsPrefix: boolean
}

function renderRow(tokenizer: CausalLmTokenizer, row: Extract<SftRow, { kind: 'chat' }>, messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  const template = tokenizer.requireChatTemplate()
  try {
    return template.render(messages, { addGenerationPrompt })
  } catch (e) {
    if (e instanceof ChatTemplateRefusal) {
      throw rowError(
        row.origin,
        `the chat template (${template.source}) refuses this conversation: ${JSON.stringify(e.reason)}; change the row, or set tokenizer.chat_template to a template that accepts it`,
      )
    }
    if (e instanceof TokenizerError) throw rowError(row.origin, e.message)
    throw e
  }
}

/** Tokenizes one row (no truncation). */
export function encodeSftRow(row: SftRow, tokenizer: CausalLmTokenizer, completionOnlyLoss = true): EncodedRow {
  if (row.kind === 'chat') {
    const fullText = renderRow(tokenizer, row, [...row.prompt, ...row.completion], false)
    const inputIds = tokenizer.encode(fullText, { addSpecialTokens: false })
    if (!completionOnlyLoss) return { inputIds, promptLength: 0, promptIsPrefix: true }
    const promptText = renderRow(tokenizer, row, row.prompt, true)
    const promptIds = tokenizer.encode(promptText, { addSpecialTokens: false })
    if (!isPrefix(promptIds, inputIds)) throw notAPrefix(tokenizer, row, promptText, fullText, promptIds, inputIds)
    return { inputIds, promptLength: promptIds.length, promptIsPrefix: true }
  }
  const eos = eosOf(tokenizer)
  if (row.kind === 'text') {
    const text = row.text.endsWith(eos) ? row.text : row.text + eos
    return { inputIds: tokenizer.encode(text), promptLength: 0, promptIsPrefix: true }
  }
  const completion = row.completion.endsWith(eos) ? row.completion : row.completion + eos
  const inputIds = tokenizer.encode(row.prompt + completion)
  if (!completionOnlyLoss) return { inputIds, promptLength: 0, promptIsPrefix: true }
  const promptIds = tokenizer.encode(row.prompt)
  return { inputIds, promptLength: Math.min(promptIds.length, inputIds.length), promptIsPrefix: isPrefix(promptIds, inputIds) }
}

function notAPrefix(
  tokenizer: CausalLmTokenizer,
  row: Extract<SftRow, { kind: 'chat' }>,
  promptText: string,
  fullText: string,
  promptIds: readonly number[],
  inputIds: readonly number[],
) {
  const source = tokenizer.requireChatTemplate().source
  const fix = 'completion-only labels need the prompt to be the beginning of the conversation: fix the template (or set tokenizer.chat_template), or train on all tokens (completion_only_loss: false)'
  if (!fullText.startsWith(promptText)) {
    const at = firstDifference(promptText, fullText)
    return rowError(
      row.origin,
      `the chat template (${source}) renders the prompt (the conversation without its last message, add_generation_prompt=true) as text that is not the beginning of the whole conversation's: ` +
        `they differ at character ${at} (prompt ${JSON.stringify(promptText.slice(Math.max(0, at - 20), at + 20))}, conversation ${JSON.stringify(fullText.slice(Math.max(0, at - 20), at + 20))}); ${fix}`,
    )
  }
  const at = firstDifference(promptIds, inputIds)
  const tok = (id: number | undefined) => (id === undefined ? 'nothing' : `${JSON.stringify(tokenizer.idToToken(id))} (${id})`)
  return rowError(
    row.origin,
    `the chat template (${source}) ends the prompt inside a token: the prompt's text begins the conversation's, but its token ${at} is ${tok(promptIds[at])} where the conversation has ${tok(inputIds[at])} ` +
      `(the tokenizer merges the end of the prompt with the start of the answer); ${fix}`,
  )
}

/** Tokenizes rows into examples with labels, truncated, and counts what was done. */
export function encodeSftRows(rows: readonly SftRow[], tokenizer: CausalLmTokenizer, options: SftEncodeOptions = {}): { examples: SftExample[]; stats: SftStats } {
  const maxLength = options.maxLength ?? undefined
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 2)) {
    throw new TokenizerError({ source: tokenizer.source, message: `max_length must be an integer of at least 2, got ${maxLength}` })
  }
  const mode = options.truncationMode ?? 'keep_start'
  if (mode !== 'keep_start' && mode !== 'keep_end') {
    throw new TokenizerError({ source: tokenizer.source, message: `truncation_mode must be keep_start or keep_end, got ${JSON.stringify(mode)}` })
  }
  const completionOnly = options.completionOnlyLoss ?? true
  // Say a missing template once, before any row, rather than at the first chat row.
  if (rows.some((r) => r.kind === 'chat')) tokenizer.requireChatTemplate()
  const stats: SftStats = { rows: rows.length, examples: 0, truncatedRows: 0, droppedRows: 0, tokens: 0, completionTokens: 0, labelledTokens: 0, longest: 0, promptMismatchRows: 0 }
  const examples: SftExample[] = []
  for (const row of rows) {
    const enc = encodeSftRow(row, tokenizer, completionOnly)
    if (!enc.promptIsPrefix) {
      stats.promptMismatchRows++
      stats.firstPromptMismatch ??= where(row.origin)
    }
    let ids = enc.inputIds
    let promptLength = enc.promptLength
    if (ids.length > stats.longest) stats.longest = ids.length
    if (maxLength !== undefined && ids.length > maxLength) {
      stats.truncatedRows++
      if (mode === 'keep_start') {
        ids = ids.slice(0, maxLength)
        promptLength = Math.min(promptLength, maxLength)
      } else {
        const cut = ids.length - maxLength
        ids = ids.slice(cut)
        promptLength = Math.max(0, promptLength - cut)
      }
    }
    const inputIds = Int32Array.from(ids)
    const labels = Int32Array.from(ids)
    labels.fill(IGNORE_INDEX, 0, promptLength)
    // The loss predicts token t from t-1: the first position is never a target.
    const labelled = Math.max(0, ids.length - Math.max(promptLength, 1))
    if (labelled === 0) {
      stats.droppedRows++
      stats.firstDropped ??= where(row.origin)
      continue
    }
    examples.push({ inputIds, labels, promptLength, origin: row.origin })
    stats.tokens += ids.length
    stats.completionTokens += ids.length - promptLength
    stats.labelledTokens += labelled
  }
  stats.examples = examples.length
  return { examples, stats }
}

/** One line for the start of a run, e.g. "4,000 rows: 141,236 tokens, 11,979 trained on; 0 truncated to 512, 0 dropped". */
export function describeSftStats(stats: SftStats, maxLength?: number | null): string {
  const n = (x: number) => x.toLocaleString('en-US')
  const parts = [
    `${n(stats.rows)} rows: ${n(stats.tokens)} tokens, ${n(stats.labelledTokens)} trained on; longest ${n(stats.longest)}`,
    maxLength ? `${n(stats.truncatedRows)} truncated to ${n(maxLength)}` : 'no truncation',
    `${n(stats.droppedRows)} dropped${stats.firstDropped ? ` (no completion token left after truncation, first: ${stats.firstDropped})` : ''}`,
  ]
  if (stats.promptMismatchRows > 0) {
    parts.push(`${n(stats.promptMismatchRows)} rows whose prompt tokens change when the completion follows (first: ${stats.firstPromptMismatch}); their labels start after the prompt's token count, as TRL's`)
  }
  return parts.join('; ')
}
