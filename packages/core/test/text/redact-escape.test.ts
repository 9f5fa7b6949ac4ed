// What leaves the process: secrets redacted, control characters shown rather than obeyed.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { addSecret, redact, redactDeep } from '../../src/text/redact.ts'
import { escapeControl, escapeControlDeep, escapeControlLine } from '../../src/text/control-chars.ts'
import { makeFolder } from '../../src/fs/make-folder.ts'
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

describe('redact', () => {
  test('a Hugging Face token anywhere in a text is cut, and so is an echoed Authorization credential', () => {
    const token = 'hf_' + 'aB3'.repeat(11) + 'x'
    assert.equal(redact(`401 for https://hub/x (sent ${token})`), '401 for https://hub/x (sent [redacted])')
    assert.equal(redact('headers: {"authorization":"Bearer abc.def-ghi"}'), 'headers: {"authorization":"Bearer [redacted]"}')
    assert.equal(redact('Authorization: basic dXNlcjpwYXNz'), 'Authorization: basic [redacted]')
  })

  test('a registered secret of any shape is cut everywhere; short values and ordinary words are left alone', () => {
    addSecret('file-token-of-odd-shape-99')
    assert.equal(redact('x file-token-of-odd-shape-99 y file-token-of-odd-shape-99'), 'x [redacted] y [redacted]')
    addSecret('abc')
    assert.equal(redact('abc hf_hub_cache HF_TOKEN hf_short'), 'abc hf_hub_cache HF_TOKEN hf_short')
  })

  test('redactDeep reaches strings inside events and keeps values that need no change', () => {
    const e = { _tag: 'Log', message: 'token hf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', extra: { list: ['Bearer zzz', 1] } }
    assert.deepEqual(redactDeep(e), { _tag: 'Log', message: 'token [redacted]', extra: { list: ['Bearer [redacted]', 1] } })
    const clean = { _tag: 'Progress', step: 1 }
    assert.equal(redactDeep(clean), clean)
  })
})

describe('escapeControl', () => {
  test('ESC, BEL, CR, DEL and C1 controls become visible escapes; tab and newline stay', () => {
    assert.equal(escapeControl('\x1b]0;PWNED\x07\x1b[2Jtext\tlabel\n'), '\\x1b]0;PWNED\\x07\\x1b[2Jtext\tlabel\n')
    assert.equal(escapeControl('a\rb\x7f\x9bc'), 'a\\x0db\\x7f\\x9bc')
    assert.equal(escapeControl('plain ü 日本'), 'plain ü 日本')
    assert.equal(escapeControlLine('two\nlines'), 'two\\nlines')
    assert.deepEqual(escapeControlDeep({ a: ['\x1b[2J'], n: 3 }), { a: ['\\x1b[2J'], n: 3 })
  })
})

describe('makeFolder', () => {
  test('creates missing parents, accepts an existing folder, and throws (never loops) where it cannot create', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-mk-'))
    makeFolder(join(dir, 'a', 'b', 'c'))
    assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory())
    makeFolder(join(dir, 'a'))
    writeFileSync(join(dir, 'f'), 'x')
    assert.throws(() => makeFolder(join(dir, 'f', 'sub')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR' || e.code === 'EEXIST')
    // Node's own recursive mkdir spins forever here.
    if (existsSync('/proc/self')) assert.throws(() => makeFolder('/proc/lorapipe-no/such'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.path === '/proc/lorapipe-no')
  })
})
