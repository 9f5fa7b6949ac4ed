import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { DatasetError } from '../../../src/data/index.ts'
import { loadSftRows, loadSftSplits, type SftRow } from '../../../src/data/sft/index.ts'
import { needsShared, shared } from '../../../../../tests/support/shared.ts'

function tmp(name: string, content: string | Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-sft-'))
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n'

const err = (re: RegExp, line?: number) => (e: unknown) => {
  assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`)
  assert.match(e.message, re)
  if (line !== undefined) assert.equal(e.line, line)
  return true
}

const chat = (...turns: [string, string][]) => ({ messages: turns.map(([role, content]) => ({ role, content })) })

describe('the kind of SFT rows', () => {
  test('a messages column is chat: the prompt is every message but the last, the completion the last', async () => {
    const file = tmp('c.jsonl', jsonl([chat(['system', 'be brief'], ['user', 'hi'], ['assistant', 'hello'], ['user', 'and?'], ['assistant', 'bye'])]))
    const set = await loadSftRows({ path: file })
    assert.equal(set.kind, 'messages')
    const row = set.rows[0] as Extract<SftRow, { kind: 'chat' }>
    assert.equal(row.kind, 'chat')
    assert.deepEqual(row.prompt.map((m) => m.role), ['system', 'user', 'assistant', 'user'])
    assert.deepEqual(row.completion, [{ role: 'assistant', content: 'bye' }])
    assert.deepEqual(row.origin, { file, where: 1, unit: 'line' })
  })

  test('prompt and completion columns are prompt-completion; a text column is text', async () => {
    const pc = await loadSftRows({ path: tmp('p.jsonl', jsonl([{ prompt: 'Q: 2+2?', completion: ' 4', text: 'ignored' }])) })
    assert.equal(pc.kind, 'prompt-completion')
    assert.deepEqual({ ...pc.rows[0], origin: undefined }, { kind: 'prompt-completion', prompt: 'Q: 2+2?', completion: ' 4', origin: undefined })
    const text = await loadSftRows({ path: tmp('t.jsonl', jsonl([{ text: 'once upon a time', prompt: 'half a pair' }])) })
    assert.equal(text.kind, 'text')
  })

  test('prompt and completion holding message lists are a chat row (TRL\'s conversational prompt-completion)', async () => {
    const set = await loadSftRows({ path: tmp('p.jsonl', jsonl([{ prompt: [{ role: 'user', content: 'hi' }], completion: [{ role: 'assistant', content: 'hello' }] }])) })
    assert.equal(set.rows[0]!.kind, 'chat')
  })

  test('column names are configurable, and a stated kind is checked against the columns', async () => {
    const file = tmp('x.jsonl', jsonl([{ conversation: chat(['user', 'a'], ['assistant', 'b']).messages, question: 'q', answer: 'a' }]))
    assert.equal((await loadSftRows({ path: file, columns: { messagesColumn: 'conversation' } })).kind, 'messages')
    const pc = await loadSftRows({ path: file, kind: 'prompt-completion', columns: { promptColumn: 'question', completionColumn: 'answer' } })
    assert.equal(pc.rows[0]!.kind, 'prompt-completion')
    await assert.rejects(loadSftRows({ path: file, kind: 'text' }), err(/text_column "text" \(needed for text data\) is not a column of this file; columns present: conversation, question, answer/))
  })

  test('a file with none of the columns says which it looked for and how to name them', async () => {
    await assert.rejects(
      loadSftRows({ path: tmp('n.jsonl', jsonl([{ prompt: 'q', answer: 'a' }])) }),
      err(/cannot tell what kind of SFT data this is \(it has "prompt" but no "completion"\).*columns present: prompt, answer; name yours with dataset\.messages_column/),
    )
  })
})

describe('bad rows are named by file and line', () => {
  const rejects = async (rows: unknown[], re: RegExp, line: number) => {
    await assert.rejects(loadSftRows({ path: tmp('bad.jsonl', jsonl(rows)) }), err(re, line))
  }
  const good = chat(['user', 'a'], ['assistant', 'b'])

  test('a message with an unknown role', async () => {
    await rejects([good, chat(['user', 'a'], ['bot', 'b'])], /bad\.jsonl:2: message 2 has the unknown role "bot"; roles must be one of system, user, assistant/, 2)
    await rejects([{ messages: [{ content: 'a' }] }], /message 1 has no "role"/, 1)
  })

  test('a conversation that does not end with the assistant', async () => {
    await rejects([good, good, chat(['user', 'a'], ['assistant', 'b'], ['user', 'c'])], /:3: the conversation ends with a user message; its last message must be the assistant's answer/, 3)
    await rejects([{ messages: [] }], /"messages" has no messages/, 1)
  })

  test('an empty completion, in each kind of row', async () => {
    await rejects([chat(['user', 'a'], ['assistant', ' '])], /:1: the last \(assistant\) message is empty: there is nothing to train on/, 1)
    await rejects([{ prompt: 'a', completion: 'b' }, { prompt: 'a', completion: '' }], /:2: the completion in "completion" is empty/, 2)
    await rejects([{ prompt: [{ role: 'user', content: 'a' }], completion: [] }], /"completion" \(no messages\) is empty/, 1)
    await rejects([{ text: 'a' }, { text: '' }], /:2: empty text in "text"/, 2)
  })

  test('values of the wrong type', async () => {
    await rejects([{ messages: 'user: hi' }], /"messages" must be a list of \{"role": \.\.\., "content": \.\.\.\} messages, got a string/, 1)
    await rejects([{ messages: [{ role: 'user', content: ['a'] }, { role: 'assistant', content: 'b' }] }], /message 1 \(user\) has a list as "content"; it must be a string/, 1)
    await rejects([{ prompt: 'a', completion: 3 }], /"completion" must be a string, got a number/, 1)
    await rejects([{ prompt: [{ role: 'user', content: 'a' }], completion: [{ role: 'user', content: 'b' }] }], /"completion" has a user message; a completion holds assistant messages only/, 1)
  })
})

describe('Parquet rows', () => {
  // The schema `datasets` (pyarrow) writes for a list of {content, role} structs.
  const messagesSchema = (extra: boolean) => [
    { name: 'schema', num_children: 1 },
    { name: 'messages', repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL' as const, num_children: extra ? 3 : 2 },
    { name: 'content', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
    { name: 'role', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
    ...(extra ? [{ name: 'name', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const }] : []),
  ]

  test('a list-of-struct messages column reads as lists of message objects', async () => {
    const messages = [chat(['user', 'hi'], ['assistant', 'hello']).messages, chat(['system', 's'], ['user', 'u'], ['assistant', 'a']).messages]
    const file = tmp('m.parquet', new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'messages', data: messages }], schema: messagesSchema(false) })))
    const set = await loadSftRows({ path: file })
    assert.equal(set.kind, 'messages')
    assert.equal(set.source.format, 'parquet')
    const rows = set.rows as Extract<SftRow, { kind: 'chat' }>[]
    assert.deepEqual(rows.map((r) => [...r.prompt, ...r.completion]), messages)
    assert.deepEqual(rows[1]!.origin, { file, where: 2, unit: 'row' })
  })

  test('a struct field that is null in some messages is left out of them, as TRL drops None values', async () => {
    const messages = [[{ role: 'user', content: 'hi', name: 'ann' }, { role: 'assistant', content: 'hello', name: null }]]
    const file = tmp('m.parquet', new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'messages', data: messages }], schema: messagesSchema(true) })))
    const row = (await loadSftRows({ path: file })).rows[0] as Extract<SftRow, { kind: 'chat' }>
    assert.deepEqual(row.prompt, [{ role: 'user', content: 'hi', name: 'ann' }])
    assert.deepEqual(row.completion, [{ role: 'assistant', content: 'hello' }])
  })

  test('a bad Parquet row is named by its row number', async () => {
    const messages = [chat(['user', 'a'], ['assistant', 'b']).messages, chat(['user', 'a'], ['critic', 'b']).messages]
    const file = tmp('m.parquet', new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'messages', data: messages }], schema: messagesSchema(false) })))
    await assert.rejects(loadSftRows({ path: file }), err(/m\.parquet \(row 2\): message 2 has the unknown role "critic"/, 2))
  })
})

describe('splits and selection', () => {
  const rows = Array.from({ length: 10 }, (_, i) => chat(['user', `q${i}`], ['assistant', `a${i}`]))
  const contentOf = (r: SftRow) => (r.kind === 'chat' ? r.prompt[0]!.content : '')

  test('limit keeps the first rows; shuffle is seeded and repeatable', async () => {
    const file = tmp('s.jsonl', jsonl(rows))
    assert.deepEqual((await loadSftRows({ path: file, limit: 3 })).rows.map(contentOf), ['q0', 'q1', 'q2'])
    const a = await loadSftRows({ path: file, shuffle: true, seed: 7 })
    const b = await loadSftRows({ path: file, shuffle: true, seed: 7 })
    assert.deepEqual(a.rows.map(contentOf), b.rows.map(contentOf))
    assert.notDeepEqual(a.rows.map(contentOf), rows.map((r) => r.messages[0]!.content))
  })

  test('an eval ratio carves ceil(n * ratio) rows out of train, disjoint, in file order', async () => {
    const { train, eval: held } = await loadSftSplits({ train: { path: tmp('s.jsonl', jsonl(rows)) }, eval: { ratio: 0.25 } }, { seed: 3 })
    assert.equal(held!.rows.length, 3)
    assert.equal(train.rows.length, 7)
    const all = [...train.rows, ...held!.rows].map(contentOf).sort()
    assert.deepEqual(all, rows.map((r) => r.messages[0]!.content).sort())
  })

  test('an eval file must hold rows of the train rows\' kind', async () => {
    const spec = { train: { path: tmp('tr.jsonl', jsonl(rows)) }, eval: { path: tmp('ev.jsonl', jsonl([{ text: 'plain' }])) } }
    await assert.rejects(loadSftSplits(spec), err(/messages_column "messages" \(needed for messages data\) is not a column of this file/))
  })

  test('the SST-2 instruction data: 4,000 train and 872 dev chat rows', { skip: needsShared }, async () => {
    const { train, eval: dev } = await loadSftSplits({ train: { path: shared('data/sst2-sft/train.jsonl') }, eval: { path: shared('data/sst2-sft/dev.jsonl') } })
    assert.equal(train.rows.length, 4000)
    assert.equal(dev!.rows.length, 872)
    assert.equal(train.kind, 'messages')
  })
})
