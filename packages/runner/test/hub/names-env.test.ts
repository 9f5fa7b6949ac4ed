import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import * as Redacted from 'effect/Redacted'
import { hfHubUrl, repoFolderName, resolveHubEnv, validateFilename, validateRepoId, validateRevision } from '../../src/hub/index.ts'
import { normalizeEtag, parseRepoFolderName, validateEtag } from '../../src/hub/names.ts'
import { tempDir } from './fixtures.ts'

const invalid = (f: () => unknown) => assert.throws(f, (e: unknown) => (e as { _tag: string })._tag === 'InvalidHubNameError')

describe('names', () => {
  test('repo ids follow huggingface_hub validate_repo_id', () => {
    for (const ok of ['gpt2', 'org/name', 'distilbert/distilbert-base-uncased', 'Foo-BAR_foo.bar123', 'nyu-mll/glue', '123']) assert.equal(validateRepoId(ok), ok)
    for (const bad of ['', 'a/b/c', '.repo', 'repo-', 'foo--bar', 'foo..bar', 'foo.git', '../x', 'org/', '/name', 'a b', 'org/na\\me', 'x'.repeat(97)]) invalid(() => validateRepoId(bad))
  })

  test('file names and revisions are relative paths without . or .. segments', () => {
    for (const ok of ['config.json', 'sst2/train-00000-of-00001.parquet', 'a b/c.txt', 'weird:name.bin']) assert.equal(validateFilename(ok), ok)
    for (const bad of ['', '/abs', '../x', 'a/../b', 'a/./b', 'a//b', 'a/', 'a\\b', 'C:x', 'a\u0000b']) invalid(() => validateFilename(bad))
    for (const ok of ['main', 'v1.0', 'refs/convert/parquet', 'refs/pr/1', 'a'.repeat(40)]) assert.equal(validateRevision(ok), ok)
    for (const bad of ['', '../main', 'refs/../../x', 'a\\b', 'main.lock']) invalid(() => validateRevision(bad))
  })

  test('ETags are normalized like _normalize_etag and must be plain file names', () => {
    assert.equal(normalizeEtag('W/"abc123"'), 'abc123')
    assert.equal(normalizeEtag('"' + 'f'.repeat(64) + '"'), 'f'.repeat(64))
    assert.equal(validateEtag('d7edf6bd2a681fb0175f7735299831ee1b22b812'), 'd7edf6bd2a681fb0175f7735299831ee1b22b812')
    for (const bad of ['', '..', '../x', 'a/b', '.hidden', 'x.incomplete', 'x.lock', 'a b']) invalid(() => validateEtag(bad))
  })

  test('repo folders are named models--org--name / datasets--name and parse back', () => {
    assert.equal(repoFolderName('org/name', 'model'), 'models--org--name')
    assert.equal(repoFolderName('glue', 'dataset'), 'datasets--glue')
    assert.deepEqual(parseRepoFolderName('datasets--nyu-mll--glue'), { repoId: 'nyu-mll/glue', repoType: 'dataset' })
    assert.equal(parseRepoFolderName('.locks'), undefined)
    assert.equal(parseRepoFolderName('models--a--b--c'), undefined)
  })

  test('resolve URLs as hf_hub_url: dataset prefix, revision quoted with safe="", file quoted with safe="/"', () => {
    assert.equal(hfHubUrl('https://huggingface.co', 'org/m', 'config.json'), 'https://huggingface.co/org/m/resolve/main/config.json')
    assert.equal(
      hfHubUrl('https://hf.example', 'glue', 'sst2/train 1.parquet', 'dataset', 'refs/convert/parquet'),
      'https://hf.example/datasets/glue/resolve/refs%2Fconvert%2Fparquet/sst2/train%201.parquet',
    )
  })
})

describe('resolveHubEnv (as huggingface_hub constants.py)', () => {
  test('defaults: ~/.cache/huggingface/hub, huggingface.co, online, no token', () => {
    const e = resolveHubEnv({}, { HF_TOKEN_PATH: '/nonexistent/token' })
    assert.equal(e.hfHome, join(homedir(), '.cache', 'huggingface'))
    assert.equal(e.cacheDir, join(homedir(), '.cache', 'huggingface', 'hub'))
    assert.equal(e.endpoint, 'https://huggingface.co')
    assert.equal(e.offline, false)
    assert.equal(e.token, undefined)
  })

  test('XDG_CACHE_HOME, HF_HOME, HF_HUB_CACHE, HF_ENDPOINT and HF_HUB_OFFLINE are honoured in that order of precedence', () => {
    assert.equal(resolveHubEnv({}, { XDG_CACHE_HOME: '/x' }).cacheDir, '/x/huggingface/hub')
    assert.equal(resolveHubEnv({}, { XDG_CACHE_HOME: '/x', HF_HOME: '/h' }).cacheDir, '/h/hub')
    assert.equal(resolveHubEnv({}, { HF_HOME: '/h', HF_HUB_CACHE: '/c' }).cacheDir, '/c')
    assert.equal(resolveHubEnv({ cacheDir: '/o' }, { HF_HUB_CACHE: '/c' }).cacheDir, '/o')
    assert.equal(resolveHubEnv({}, { HF_ENDPOINT: 'http://mirror.local/' }).endpoint, 'http://mirror.local')
    for (const v of ['1', 'true', 'YES', 'on']) assert.equal(resolveHubEnv({}, { HF_HUB_OFFLINE: v }).offline, true)
    assert.equal(resolveHubEnv({}, { HF_HUB_OFFLINE: '0' }).offline, false)
  })

  test('HF_TOKEN wins over the token file; the token is redacted when printed', () => {
    const t = tempDir()
    try {
      writeFileSync(join(t.dir, 'token'), 'hf_from_file_secret\n')
      const fromFile = resolveHubEnv({}, { HF_HOME: t.dir })
      assert.equal(Redacted.value(fromFile.token!), 'hf_from_file_secret')
      const fromEnv = resolveHubEnv({}, { HF_HOME: t.dir, HF_TOKEN: ' hf_env_secret ' })
      assert.equal(Redacted.value(fromEnv.token!), 'hf_env_secret')
      assert.equal(resolveHubEnv({ token: false }, { HF_HOME: t.dir, HF_TOKEN: 'x' }).token, undefined)
      for (const shown of [JSON.stringify(fromEnv), String(fromEnv.token), inspect(fromEnv, { depth: 5 })]) assert.ok(!shown.includes('hf_env_secret'))
    } finally {
      t.cleanup()
    }
  })
})
