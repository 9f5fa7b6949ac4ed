// Rows for supervised fine-tuning of a causal LM, in the three dataset kinds TRL's SFTTrainer
// takes: chat (`messages`: a list of {role, content}), `prompt` + `completion` (strings, or lists of
// messages: TRL's conversational prompt-completion), and `text`. The kind is detected from the
// columns present (messages, else prompt + completion, else text) or stated; column names are
// configurable. Every row keeps where it came from, so that a bad one is named by file and line.
import { closest } from '@lorapipe/core/suggest.ts'
import type { ChatMessage } from '../../tokenizer/chat-template.ts'
import { datasetError, type DatasetError } from '../errors.ts'
import type { RawTable } from '../table.ts'

export type SftKind = 'messages' | 'prompt-completion' | 'text'
export const SFT_KINDS: readonly SftKind[] = ['messages', 'prompt-completion', 'text']

/** Column names (the pipeline's dataset.messages_column, prompt_column, completion_column, text_column). */
export interface SftColumns {
  messagesColumn: string
  promptColumn: string
  completionColumn: string
  textColumn: string
}

export const DEFAULT_SFT_COLUMNS: SftColumns = { messagesColumn: 'messages', promptColumn: 'prompt', completionColumn: 'completion', textColumn: 'text' }

/** Roles a message may have. */
export const CHAT_ROLES = ['system', 'user', 'assistant'] as const

/** Where a row came from: file and 1-based line (text formats) or row (Parquet). */
export interface RowOrigin {
  file: string
  where: number
  unit: 'line' | 'row'
}

/**
 * One SFT example before tokenization. Chat rows are split as TRL splits a conversational
 * prompt-completion example: `prompt` = every message but the last, `completion` = the last
 * (assistant) message; the prompt is rendered with add_generation_prompt.
 */
export type SftRow =
  | { kind: 'chat'; prompt: ChatMessage[]; completion: ChatMessage[]; origin: RowOrigin }
  | { kind: 'prompt-completion'; prompt: string; completion: string; origin: RowOrigin }
  | { kind: 'text'; text: string; origin: RowOrigin }

/** An error that names the row. */
export function rowError(origin: RowOrigin, what: string): DatasetError {
  return datasetError(origin.file, origin.where, what, origin.unit)
}

function missingColumn(table: RawTable, role: string, column: string, kind: SftKind): DatasetError {
  const near = closest(column, table.columns)
  return datasetError(
    table.file,
    undefined,
    `${role} ${JSON.stringify(column)} (needed for ${kind} data) is not a column of this file; columns present: ${table.columns.join(', ') || '(none)'}` +
      (near ? `; did you mean ${JSON.stringify(near)}?` : ''),
  )
}

/** The kind of the table's rows: the stated one (its columns checked), else detected from the columns present. */
export function detectSftKind(table: RawTable, columns: SftColumns = DEFAULT_SFT_COLUMNS, stated?: SftKind): SftKind {
  const has = (c: string) => table.columns.includes(c)
  if (stated !== undefined) {
    if (!SFT_KINDS.includes(stated)) {
      throw datasetError(table.file, undefined, `unknown SFT data kind ${JSON.stringify(stated)}; use one of ${SFT_KINDS.join(', ')}`)
    }
    if (stated === 'messages' && !has(columns.messagesColumn)) throw missingColumn(table, 'messages_column', columns.messagesColumn, stated)
    if (stated === 'prompt-completion') {
      if (!has(columns.promptColumn)) throw missingColumn(table, 'prompt_column', columns.promptColumn, stated)
      if (!has(columns.completionColumn)) throw missingColumn(table, 'completion_column', columns.completionColumn, stated)
    }
    if (stated === 'text' && !has(columns.textColumn)) throw missingColumn(table, 'text_column', columns.textColumn, stated)
    return stated
  }
  if (has(columns.messagesColumn)) return 'messages'
  if (has(columns.promptColumn) && has(columns.completionColumn)) return 'prompt-completion'
  if (has(columns.textColumn)) return 'text'
  const halfPair = has(columns.promptColumn) ? ` (it has ${JSON.stringify(columns.promptColumn)} but no ${JSON.stringify(columns.completionColumn)})` : ''
  throw datasetError(
    table.file,
    undefined,
    `cannot tell what kind of SFT data this is${halfPair}: expected a ${JSON.stringify(columns.messagesColumn)} column (chat), ` +
      `${JSON.stringify(columns.promptColumn)} and ${JSON.stringify(columns.completionColumn)} columns, or a ${JSON.stringify(columns.textColumn)} column; ` +
      `columns present: ${table.columns.join(', ') || '(none)'}; name yours with dataset.messages_column, prompt_column, completion_column or text_column`,
  )
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/** Checks one message list (roles, string contents); Parquet's null struct fields are dropped, as TRL does. */
function messagesAt(value: unknown, origin: RowOrigin, column: string): ChatMessage[] {
  if (!Array.isArray(value)) {
    throw rowError(origin, `${JSON.stringify(column)} must be a list of {"role": ..., "content": ...} messages, got ${describe(value)}`)
  }
  return value.map((m, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) {
      throw rowError(origin, `message ${i + 1} of ${JSON.stringify(column)} must be an object like {"role": "user", "content": "..."}, got ${describe(m)}`)
    }
    const message: ChatMessage = {} as ChatMessage
    for (const [k, v] of Object.entries(m)) if (v !== null && v !== undefined) message[k] = v
    const role = message.role
    if (typeof role !== 'string' || !(CHAT_ROLES as readonly string[]).includes(role)) {
      throw rowError(
        origin,
        `message ${i + 1} has ${typeof role === 'string' ? `the unknown role ${JSON.stringify(role)}` : 'no "role"'}; roles must be one of ${CHAT_ROLES.join(', ')}`,
      )
    }
    if (typeof message.content !== 'string') {
      throw rowError(origin, `message ${i + 1} (${role}) has ${describe(message.content)} as "content"; it must be a string`)
    }
    return message
  })
}

function stringAt(value: unknown, origin: RowOrigin, column: string): string {
  if (typeof value !== 'string') throw rowError(origin, `${JSON.stringify(column)} must be a string, got ${describe(value)}`)
  return value
}

function emptyCompletion(origin: RowOrigin, what: string): DatasetError {
  return rowError(origin, `${what} is empty: there is nothing to train on; fill it in or remove the row`)
}

/** Converts a table's rows to SFT rows of `kind`; a bad row is an error naming it. */
export function sftRowsFromTable(table: RawTable, kind: SftKind, columns: SftColumns = DEFAULT_SFT_COLUMNS): SftRow[] {
  const out: SftRow[] = new Array(table.rows.length)
  for (let i = 0; i < table.rows.length; i++) {
    const row = table.rows[i]!
    const origin: RowOrigin = { file: table.file, where: table.where[i]!, unit: table.unit }
    if (kind === 'messages') {
      const messages = messagesAt(row[columns.messagesColumn], origin, columns.messagesColumn)
      if (messages.length === 0) throw rowError(origin, `${JSON.stringify(columns.messagesColumn)} has no messages`)
      const last = messages[messages.length - 1]!
      if (last.role !== 'assistant') {
        throw rowError(origin, `the conversation ends with a ${last.role} message; its last message must be the assistant's answer to train on`)
      }
      if (last.content.trim() === '') throw emptyCompletion(origin, 'the last (assistant) message')
      out[i] = { kind: 'chat', prompt: messages.slice(0, -1), completion: [last], origin }
    } else if (kind === 'prompt-completion') {
      const p = row[columns.promptColumn]
      const c = row[columns.completionColumn]
      if (Array.isArray(p) || Array.isArray(c)) {
        // TRL's conversational prompt-completion: both are message lists.
        const prompt = messagesAt(p, origin, columns.promptColumn)
        const completion = messagesAt(c, origin, columns.completionColumn)
        if (completion.length === 0) throw emptyCompletion(origin, `${JSON.stringify(columns.completionColumn)} (no messages)`)
        const notAssistant = completion.find((m) => m.role !== 'assistant')
        if (notAssistant) throw rowError(origin, `${JSON.stringify(columns.completionColumn)} has a ${notAssistant.role} message; a completion holds assistant messages only`)
        if (completion.every((m) => m.content.trim() === '')) throw emptyCompletion(origin, `the completion in ${JSON.stringify(columns.completionColumn)}`)
        out[i] = { kind: 'chat', prompt, completion, origin }
      } else {
        const prompt = stringAt(p, origin, columns.promptColumn)
        const completion = stringAt(c, origin, columns.completionColumn)
        if (completion.trim() === '') throw emptyCompletion(origin, `the completion in ${JSON.stringify(columns.completionColumn)}`)
        out[i] = { kind: 'prompt-completion', prompt, completion, origin }
      }
    } else {
      const text = stringAt(row[columns.textColumn], origin, columns.textColumn)
      if (text.trim() === '') throw rowError(origin, `empty text in ${JSON.stringify(columns.textColumn)}; fill it in or remove the row`)
      out[i] = { kind: 'text', text, origin }
    }
  }
  return out
}
