// A registered secret is cut where it stands as a word, never out of the middle of someone else's
// word: a Redis password that happens to be part of the server's own reply must leave the reply
// readable (the password `WRONGPAS` must not turn `WRONGPASS` into `[redacted]S`).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { addSecret, redact } from '../../src/text/redact.ts'

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.'
const NOAUTH = 'NOAUTH Authentication required.'
const NOPASSWORD = 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?'

describe('redact keeps the words a secret is only part of', () => {
  test('passwords that are pieces of Redis replies leave those replies whole', () => {
    for (const secret of ['WRONGPAS', 'RONGPASS', 'username', 'password', 'Authenti', 'entication', 'configur', 'efault user']) addSecret(secret)
    assert.equal(redact(WRONGPASS), WRONGPASS)
    assert.equal(redact(NOAUTH), NOAUTH)
    assert.equal(redact(`error: Redis said: ${WRONGPASS}`), `error: Redis said: ${WRONGPASS}`)
    // `efault user` is inside `default user`, `configur` inside `configured`: kept. `password`
    // stands as a word of its own there, so it is cut, as it should be.
    assert.equal(redact(NOPASSWORD), NOPASSWORD.replaceAll('password', '[redacted]'))
  })

  test('a secret standing on its own is cut wherever it appears: between punctuation, at the ends, repeated', () => {
    addSecret('s3cret-Pw')
    assert.equal(redact('redis://:s3cret-Pw@127.0.0.1:6379'), 'redis://:[redacted]@127.0.0.1:6379')
    assert.equal(redact('s3cret-Pw'), '[redacted]')
    assert.equal(redact('"s3cret-Pw","s3cret-Pw"'), '"[redacted]","[redacted]"')
    assert.equal(redact('xs3cret-Pw s3cret-Pwx s3cret-Pw.'), 'xs3cret-Pw s3cret-Pwx [redacted].')
  })

  test('a secret that begins or ends with punctuation is cut even when a word touches that end', () => {
    addSecret('!tok3n-value')
    assert.equal(redact('pass!tok3n-value'), 'pass[redacted]')
    assert.equal(redact('pass!tok3n-valuex'), 'pass!tok3n-valuex')
  })
})
