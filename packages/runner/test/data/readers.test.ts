import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseCsvRecords, readCsv, readTsv } from '../../src/data/delimited.ts'
import { readJsonl } from '../../src/data/jsonl.ts'
import { DatasetError } from '../../src/data/errors.ts'

const err = (re: RegExp, line?: number) => (e: unknown) => {
  assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`)
  assert.equal(e._tag, 'DatasetError')
  assert.match(e.message, re)
  if (line !== undefined) assert.equal(e.line, line)
  return true
}

describe('CSV (RFC 4180)', () => {
  test('reads quoted fields with commas, doubled quotes and line breaks, CRLF or LF', () => {
    const recs = parseCsvRecords('x.csv', 'a,b\r\n"1, 2","say ""hi"""\r\n"multi\nline",z\nlast,\n')
    assert.deepEqual(recs, [
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1, 2', 'say "hi"'], line: 2 },
      { fields: ['multi\nline', 'z'], line: 3 },
      { fields: ['last', ''], line: 5 },
    ])
  })

  test('handles a missing final newline and skips blank lines', () => {
    const t = readCsv('x.csv', 'text,label\n\nhello,1\n\nbye,0')
    assert.deepEqual(t.rows, [{ text: 'hello', label: '1' }, { text: 'bye', label: '0' }])
    assert.deepEqual(t.where, [3, 5])
  })

  test('rejects an unterminated quote, naming the line where it opens', () => {
    assert.throws(() => readCsv('bad.csv', 'text,label\nok,1\n"never closed,0\nmore,1\n'), err(/bad\.csv:3: unterminated quoted field/, 3))
  })

  test('rejects text after a closing quote', () => {
    assert.throws(() => readCsv('bad.csv', 'text,label\n"a"b,1\n'), err(/bad\.csv:2: unexpected "b" after a closing quote/, 2))
  })

  test('rejects a row with the wrong number of fields', () => {
    assert.throws(() => readCsv('bad.csv', 'text,label\nhello,1\nhello,1,extra\n'), err(/bad\.csv:3: this row has 3 fields but the header has 2 \(text, label\)/, 3))
  })
})

describe('TSV', () => {
  test('splits on tabs only, keeps quotes and trailing spaces as they are', () => {
    const t = readTsv('x.tsv', 'sentence\tlabel\r\nhe said "no" , twice \t0\r\n')
    assert.deepEqual(t.rows, [{ sentence: 'he said "no" , twice ', label: '0' }])
    assert.deepEqual(t.columns, ['sentence', 'label'])
  })

  test('rejects duplicate header names and short rows', () => {
    assert.throws(() => readTsv('d.tsv', 'a\ta\n1\t2\n'), err(/d\.tsv:1: the header names column "a" twice/))
    assert.throws(() => readTsv('s.tsv', 'sentence\tlabel\nfine\t1\nno label here\n'), err(/s\.tsv:3: this row has 1 field but the header has 2/, 3))
  })

  test('rejects an empty file', () => {
    assert.throws(() => readTsv('e.tsv', ''), err(/e\.tsv: the file is empty/))
  })
})

describe('JSONL', () => {
  test('reads one object per line and skips blank lines', () => {
    const t = readJsonl('x.jsonl', '{"text":"a","label":1}\n\n{"text":"b","label":0}\n')
    assert.deepEqual(t.rows, [{ text: 'a', label: 1 }, { text: 'b', label: 0 }])
    assert.deepEqual(t.where, [1, 3])
  })

  test('rejects a malformed line with its number', () => {
    assert.throws(() => readJsonl('m.jsonl', '{"text":"a","label":1}\n{"text": "b", "label": }\n'), err(/m\.jsonl:2: malformed JSON/, 2))
  })

  test('rejects a line that is not an object', () => {
    assert.throws(() => readJsonl('m.jsonl', '["a", 1]\n'), err(/m\.jsonl:1: expected a JSON object .* got an array/, 1))
  })
})
