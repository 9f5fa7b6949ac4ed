// The `lorapipe` command against input written to break it (issue 10): YAML bombs, numbers JSON
// cannot hold, keys that reach JavaScript internals, paths that climb, absurd model sizes, weights
// that are not numbers, outputs that cannot be written, a hub that echoes the token, terminal
// escape sequences in data. Each ends with a clear message and the right exit code, never a
// stack trace, never exit 0 with the output lost, and never a secret or a raw escape printed.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bin, lorapipe, lorapipeAsync, type CliResult } from './support/cli.ts'
import { needsShared, repoRoot, shared } from './support/shared.ts'
import { startHubServer } from '../packages/runner/test/hub/hub-server.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-hostile-'))
const fixtures = join(repoRoot, 'tests', 'fixtures')
const bow = join(fixtures, 'pipelines', 'bow.yaml')
const STACK = /^\s+at .+:\d+:\d+\)?$/m

/** A clean failure: the exit code, one `error:` line, no stack trace. */
function assertClean(r: CliResult, code: number, message: RegExp) {
  assert.equal(r.code, code, `exit ${r.code}\n${r.stderr}`)
  assert.match(r.stderr, message)
  assert.doesNotMatch(r.stderr, STACK, 'no stack trace')
}

/** Runs lorapipe with its stdout on a given file descriptor (/dev/full). */
function withStdout(args: string[], fd: number, env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 120_000 })
  return { code: r.status, stdout: '', stderr: r.stderr }
}

function writePipeline(text: string): string {
  const dir = tmp()
  writeFileSync(join(dir, 'p.yaml'), text)
  return join(dir, 'p.yaml')
}

const tinyJob = (extra = '') => `name: hostile
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin, v_lin] }
dataset:
  text_column: sentence
  train: { path: ${join(fixtures, 'data', 'tiny-train.tsv')} }
  eval: { path: ${join(fixtures, 'data', 'tiny-dev.tsv')} }
trainer: { max_steps: 1 }
${extra}`

describe('hostile pipeline files', () => {
  test('an alias bomb is exit 2 with the place, not a ReferenceError', () => {
    const lines = ['name: bomb', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (const [i, n] of [...'bcdefghi'].entries()) lines.push(`${n}: &${n} [${Array(9).fill(`*${i === 0 ? 'a' : 'bcdefghi'[i - 1]}`).join(',')}]`)
    const file = writePipeline(lines.join('\n') + '\n')
    assertClean(lorapipe(['validate', file]), 2, /p\.yaml:6:8: error: YAML aliases expand to more than 10,000 values/)
  })

  test('a flat file of 30,000 keys is validated in linear time (every YAML reader of the CLI)', { timeout: 90_000 }, () => {
    const file = writePipeline(tinyJob() + Array.from({ length: 30_000 }, (_, i) => `k${i}: ${i}\n`).join(''))
    const r = lorapipe(['validate', file])
    assertClean(r, 2, /p\.yaml:9:1: error: unknown key `k0`/)
    assert.match(r.stderr, /\.\.\. and 29900 more\n30000 errors in /)
  })

  test('infinity and NaN from the file or --set are exit 2 at their place', () => {
    const file = writePipeline(tinyJob().replace('trainer: { max_steps: 1 }', 'trainer: { max_steps: .inf, weight_decay: .nan, learning_rate: 1e400 }'))
    const r = lorapipe(['validate', file, '--set', 'trainer.adam_epsilon=.inf'])
    assertClean(r, 2, /p\.yaml:8:23: error: `trainer\.max_steps` must be a finite number, not infinity/)
    assert.match(r.stderr, /`trainer\.weight_decay` must be a finite number, not NaN/)
    assert.match(r.stderr, /`trainer\.learning_rate` must be a finite number, not infinity/)
    assert.match(r.stderr, /--set trainer\.adam_epsilon=\.inf: error: `trainer\.adam_epsilon` must be a finite number/)
  })

  test('__proto__, constructor and prototype keys are unknown keys (exit 2)', () => {
    const file = writePipeline(tinyJob().replace('trainer: { max_steps: 1 }', 'trainer:\n  max_steps: 1\n  __proto__: { learning_rate: 1 }\nvars: { constructor: 1, x: { prototype: 2 } }'))
    const r = lorapipe(['validate', file])
    assertClean(r, 2, /p\.yaml:10:3: error: unknown key `__proto__` in `trainer`/)
    assert.match(r.stderr, /p\.yaml:11:9: error: unknown key `constructor` in `vars`/)
    assert.match(r.stderr, /p\.yaml:11:30: error: unknown key `prototype` in `vars\.x`/)
  })

  test('`..` in revision or dataset.config is caught at validation: exit 2 and no run folder', () => {
    const out = join(tmp(), 'run')
    const r = lorapipe(['run', writePipeline(tinyJob()), '--set', 'model.revision=../../../../tmp/x', '--set', 'dataset.config=..', '--out', out])
    assertClean(r, 2, /`model\.revision` must be a branch, tag or commit: names separated by `\/`, none of them `\.` or `\.\.`; not the string "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/x"/)
    assert.match(r.stderr, /`dataset\.config` must be a configuration name/)
    assert.equal(existsSync(out), false)
    assertClean(lorapipe(['cache', 'rm', '../../x'], { env: { HF_HUB_CACHE: tmp() } }), 2, /Invalid repo id "\.\.\/\.\.\/x"/)
  })

  test('seed: -1 is one error, at the seed', () => {
    const r = lorapipe(['validate', writePipeline(tinyJob('seed: -1\n'))])
    assertClean(r, 2, /p\.yaml:9:7: error: `seed` must be >= 0, not -1/)
    assert.match(r.stderr, /^1 error in /m)
  })
})

describe('absurd model sizes', { skip: needsShared }, () => {
  const base = () => [
    '--set', `model.path=${shared('fixtures', 'tiny-distilbert')}`,
    '--set', `dataset.train.path=${join(fixtures, 'data', 'tiny-train.tsv')}`,
    '--set', `dataset.eval.path=${join(fixtures, 'data', 'tiny-dev.tsv')}`,
    '--set', 'trainer.max_steps=1',
  ]
  test('n_layers: 1000000 in a config, and lora.r: 1e9, are refused with the figures before anything is written', () => {
    const dir = tmp()
    const cfg = JSON.parse(readFileSync(shared('fixtures', 'tiny-distilbert', 'config.json'), 'utf8'))
    for (const [name, change] of [['layers', { n_layers: 1_000_000, dim: 768, n_heads: 12 }]] as const) {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify({ ...cfg, ...change }))
      const out = join(dir, `run-${name}`)
      const r = lorapipe(['run', 'pipelines/sst2-lora.yaml', ...base(), '--set', 'model.init=random', '--set', `model.config=${join(dir, `${name}.json`)}`, '--set', `tokenizer.path=${shared('fixtures', 'tiny-distilbert')}`, '--out', out])
      assertClean(r, 2, /this model has [\d,]+ parameters, [\d.]+ [KMGTPE]iB in memory, more than (this machine's|the wasm backend's) memory \([\d.]+ [KMGTPE]iB\)/)
      assert.equal(existsSync(out), false)
    }
    const out = join(dir, 'run-r')
    const r = lorapipe(['run', 'pipelines/sst2-lora.yaml', ...base(), '--set', 'lora.r=1000000000', '--out', out])
    assertClean(r, 2, /--set lora\.r=1000000000: error: LoRA: r 1,000,000,000 is too large: the adapter has [\d,]+ parameters/)
    assert.equal(existsSync(out), false)
  })
})

describe('weights that are not numbers', { skip: needsShared }, () => {
  /** A copy of a safetensors file with one value of one tensor replaced. */
  function poison(file: string, tensor: string, value: number) {
    const bytes = readFileSync(file)
    const n = Number(bytes.readBigUInt64LE(0))
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))
    const [start] = header[tensor].data_offsets as [number, number]
    bytes.writeFloatLE(value, 8 + n + start + 4)
    writeFileSync(file, bytes)
  }

  test('predict refuses a model with a NaN weight and an adapter with +inf, naming the tensor (never LABEL_-1 or exit 0)', () => {
    const model = join(tmp(), 'model')
    cpSync(shared('fixtures', 'tiny-distilbert'), model, { recursive: true })
    poison(join(model, 'model.safetensors'), 'distilbert.transformer.layer.1.ffn.lin1.weight', NaN)
    const nan = lorapipe(['predict', '--model', model, '--text', 'a fine film', '--json'])
    assertClean(nan, 2, /model\.safetensors: tensor "distilbert\.transformer\.layer\.1\.ffn\.lin1\.weight" holds NaN \(first at index 1 of/)
    assert.equal(nan.stdout, '')
    const adapter = join(tmp(), 'adapter')
    cpSync(shared('fixtures', 'golden', 'lora-adapter'), adapter, { recursive: true })
    const st = readFileSync(join(adapter, 'adapter_model.safetensors'))
    const names = Object.keys(JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8'))).filter((k) => k.includes('lora_B'))
    poison(join(adapter, 'adapter_model.safetensors'), names[0]!, Infinity)
    const r = lorapipe(['predict', '--model', shared('fixtures', 'tiny-distilbert'), '--adapter', adapter, '--text', 'a fine film', '--json'])
    assertClean(r, 2, new RegExp(`adapter_model\\.safetensors: tensor "${names[0]!.replace(/\./g, '\\.')}" holds \\+infinity`))
    assert.equal(r.stdout, '')
  })
})

describe('outputs that cannot be written', () => {
  test('run > /dev/full is an error, not exit 0', { skip: existsSync('/dev/full') ? false : 'no /dev/full here' }, () => {
    const fd = openSync('/dev/full', 'w')
    try {
      const r = withStdout(['run', bow, '--out', join(tmp(), 'run')], fd)
      assertClean(r, 1, /error: cannot write to standard output: no space left on the device \(ENOSPC\)/)
    } finally {
      closeSync(fd)
    }
  })

  test('predict --json > /dev/full is an error, not exit 0', { skip: needsShared || (existsSync('/dev/full') ? false : 'no /dev/full here') }, () => {
    const fd = openSync('/dev/full', 'w')
    try {
      const r = withStdout(['predict', '--model', shared('fixtures', 'tiny-distilbert'), '--text', 'a fine film', '--json'], fd)
      assertClean(r, 1, /cannot write to standard output: no space left on the device/)
    } finally {
      closeSync(fd)
    }
  })

  test('a reader that closes the pipe ends the run quietly with 141 (SIGPIPE), no stack trace', async () => {
    const child = spawn(process.execPath, [bin, 'run', bow, '--json', '--set', 'vars.step_ms=5', '--out', join(tmp(), 'run')], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.once('data', () => child.stdout.destroy())
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
    assert.equal(code, 141, stderr)
    assert.doesNotMatch(stderr, STACK)
  })

  test('file-system errors are one line naming the path: read-only, a file for --out, a folder or /proc for report --out', () => {
    const dir = tmp()
    writeFileSync(join(dir, 'file'), 'x')
    assertClean(lorapipe(['run', bow, '--out', join(dir, 'file')]), 2, /file exists and is not a folder/)
    if (existsSync('/proc/self')) assertClean(lorapipe(['run', bow, '--out', '/proc/lorapipe-cannot-be-here']), 2, /\/proc\/lorapipe-cannot-be-here/)
    const run = join(dir, 'run')
    assert.equal(lorapipe(['run', bow, '--out', run, '-q']).code, 0)
    assertClean(lorapipe(['report', run, '--out', dir]), 2, new RegExp(`${dir} is a folder, not a regular file`))
    assertClean(lorapipe(['report', run, '--out', join(dir, 'file', 'report.html')]), 2, /error: cannot \w+ .*file\/report\.html: a part of the path is a file, not a folder \(ENOTDIR\)/)
    if (existsSync('/proc/self')) assertClean(lorapipe(['report', run, '--out', '/proc/lorapipe-x/report.html']), 2, /cannot create the folder \/proc\/lorapipe-x: no such file or folder \(ENOENT\)/)
  })

  test('a learning rate of 1e-120 still makes the report, and `lorapipe report` works on the run', () => {
    const out = join(tmp(), 'run')
    const r = lorapipe(['run', bow, '--set', 'stages.train.with.learning_rate=1e-120', '--out', out])
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /could not write the report/)
    assert.ok(existsSync(join(out, 'report.html')))
    assert.match(r.stdout, /lr 1\.00e-120/)
    const again = lorapipe(['report', out, '--out', join(out, 'again.html')])
    assert.equal(again.code, 0, again.stderr)
  })
})

describe('secrets and terminal escapes', () => {
  test('a hub that echoes the Authorization header: the token is in no message, event, report or file', async () => {
    const token = 'hf_' + 'AbCdEfGhIjKlMnOpQrStUvWxYz01234567'.slice(0, 34)
    const hub = await startHubServer([{ type: 'model', id: 'org/tiny', revisions: { main: { 'config.json': Buffer.from('{}') } } }], token)
    hub.echoAuthorization = true
    const dir = tmp()
    const file = join(dir, 'p.yaml')
    writeFileSync(file, tinyJob('description: "made with ${env.HF_TOKEN}"\n').replace('path: ./model', 'id: org/tiny'))
    const out = join(dir, 'run')
    let r: CliResult
    try {
      r = await lorapipeAsync(['run', file, '--out', out], { env: { HF_ENDPOINT: hub.url, HF_TOKEN: token, HF_HUB_CACHE: join(dir, 'cache'), HF_HOME: join(dir, 'home') } })
    } finally {
      await hub.close()
    }
    assert.ok(hub.log.some((l) => l.authorization === `Bearer ${token}`), 'the token was sent to the hub')
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /HTTP 500 .*The hub says: internal error handling .*authorization: Bearer \[redacted\]/)
    const leaks: string[] = []
    const check = (what: string, text: string) => {
      if (text.includes(token) || text.includes(token.slice(3))) leaks.push(what)
    }
    check('stderr', r.stderr)
    check('stdout', r.stdout)
    for (const f of readdirSync(out, { recursive: true }) as string[]) {
      const p = join(out, f)
      try {
        check(p, readFileSync(p, 'utf8'))
      } catch {
        // a folder
      }
    }
    assert.deepEqual(leaks, [])
    assert.match(readFileSync(join(out, 'config.resolved.yaml'), 'utf8'), /description: made with \[redacted\]/)
    assert.ok(existsSync(join(out, 'report.html')))
  })

  test('a token read from the token file is redacted too, whatever its shape', async () => {
    const token = 'file-token-without-the-usual-shape-42'
    const dir = tmp()
    const home = join(dir, 'home')
    mkdirSync(home)
    writeFileSync(join(home, 'token'), token + '\n')
    const hub = await startHubServer([{ type: 'model', id: 'org/tiny', revisions: { main: { 'config.json': Buffer.from('{}') } } }], token)
    hub.echoAuthorization = true
    const file = join(dir, 'p.yaml')
    writeFileSync(file, tinyJob().replace('path: ./model', 'id: org/tiny'))
    let r: CliResult
    try {
      r = await lorapipeAsync(['run', file, '--out', join(dir, 'run')], { env: { HF_ENDPOINT: hub.url, HF_TOKEN: '', HF_HOME: home, HF_HUB_CACHE: join(dir, 'cache') } })
    } finally {
      await hub.close()
    }
    assert.ok(hub.log.some((l) => l.authorization === `Bearer ${token}`), 'the token file was used')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /Bearer \[redacted\]/)
    assert.ok(!r.stderr.includes(token) && !readFileSync(join(dir, 'run', 'events.jsonl'), 'utf8').includes(token))
  })

  test('escape sequences in a TSV header are shown, not sent to the terminal', { skip: needsShared }, () => {
    const dir = tmp()
    writeFileSync(join(dir, 'evil.tsv'), '\x1b]0;PWNED\x07\x1b[2Jtext\tlabel\nhello\t1\nbye\t0\n')
    const r = lorapipe(['run', 'pipelines/sst2-lora.yaml', '--set', `model.path=${shared('fixtures', 'tiny-distilbert')}`, '--set', `dataset.train.path=${join(dir, 'evil.tsv')}`, '--set', `dataset.eval.path=${join(dir, 'evil.tsv')}`, '--out', join(dir, 'run')])
    assertClean(r, 2, /error: .*evil\.tsv: text_column "sentence" is not a column of this file; columns present: \\x1b\]0;PWNED\\x07\\x1b\[2Jtext, label/)
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(r.stderr + r.stdout), 'no raw control characters')
  })

  test('an error in a data file points at the `path` key that named the file', { skip: needsShared }, () => {
    const dir = tmp()
    writeFileSync(join(dir, 'data.tsv'), 'sentence\tlabel\nhello\t1\nbroken row without a tab\n')
    const file = join(dir, 'p.yaml')
    writeFileSync(file, `name: d\nmodel: { path: ${shared('fixtures', 'tiny-distilbert')}, num_labels: 2 }\nlora: null\ndataset:\n  text_column: sentence\n  train:\n    path: data.tsv\n  eval: { path: data.tsv }\ntrainer: { max_steps: 1 }\n`)
    const r = lorapipe(['validate', file])
    assertClean(r, 2, /p\.yaml:7:11: error: .*data\.tsv:3: this row has 1 field but the header has 2/)
  })
})
