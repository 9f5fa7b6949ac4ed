// Files named by the user that are not files to read (issue 18): a symbolic link to /dev/zero
// (endless), a FIFO with no writer (blocks), a folder, a symbolic link loop, a file over its
// kind's limit, and /dev/null (a device that reads as empty), named as a pipeline, a sweep file,
// a base pipeline, an `extends` target, a stage module, a data file, a model config, a `predict`
// input, a run's or a sweep's record. Each is refused at once with exit 2, a message that names
// the file and the problem, no stack trace, and nothing written. A hang fails the test (each
// command is killed after HANG_MS) instead of hanging the suite.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { bin, type CliResult } from './support/cli.ts'
import { needsShared, repoRoot, shared } from './support/shared.ts'

const HANG_MS = 20_000
const STACK = /^\s+at .+:\d+:\d+\)?$/m
const MiB = 1024 * 1024
const fixtures = join(repoRoot, 'tests', 'fixtures')
const sst2 = join(repoRoot, 'pipelines', 'sst2-lora.yaml')
const hasDevices = existsSync('/dev/zero') && existsSync('/dev/null') && spawnSync('mkfifo', ['--version']).status === 0
const skip = hasDevices ? false : 'needs /dev/zero, /dev/null and mkfifo'

interface Hostile {
  readonly name: string
  /** Makes the file `name` in `dir` (with `limit` the most its kind may hold) and returns how to name it. */
  readonly make: (dir: string, name: string, limit: number) => string
  /** What the message says, after the file's name. */
  readonly says: RegExp
}

const HOSTILE: readonly Hostile[] = [
  { name: 'a symbolic link to /dev/zero', make: (d, n) => (symlinkSync('/dev/zero', join(d, n)), n), says: /is a character device, not a regular file \(through a symbolic link to \/dev\/zero\)/ },
  { name: 'a FIFO with no writer', make: (d, n) => (spawnSync('mkfifo', [join(d, n)]), n), says: /is a FIFO \(named pipe\), not a regular file/ },
  { name: 'a folder', make: (d, n) => (mkdirSync(join(d, n)), n), says: /is a folder, not a file/ },
  { name: 'a symbolic link loop', make: (d, n) => (symlinkSync(`${n}.other`, join(d, n)), symlinkSync(n, join(d, `${n}.other`)), n), says: /is a symbolic link loop/ },
  // Sparse: the size says too much, and nothing of it is read.
  { name: 'a file over the limit', make: (d, n, limit) => (writeFileSync(join(d, n), ''), truncateSync(join(d, n), limit + 1), n), says: /is \d+\.\d [MG]iB; an? [\w ()]+ may be at most \d+\.\d [MG]iB/ },
  { name: '/dev/null (a device, not an empty file)', make: () => '/dev/null', says: /is a character device, not a regular file/ },
]

/** The two that hung (and grew to gigabytes): enough where another command reads the file the same way. */
const HANGS = HOSTILE.slice(0, 2)

const LIMITS = { yaml: 4 * MiB, module: 16 * MiB, config: 16 * MiB, text: 536_870_888 }

/** Runs lorapipe in `cwd`, killed after HANG_MS. */
function lorapipeIn(cwd: string, args: string[]): Promise<CliResult & { hung: boolean }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(cwd, '..', 'no-cache') }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  let hung = false
  const timer = setTimeout(() => ((hung = true), child.kill('SIGKILL')), HANG_MS)
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr, hung }))))
}

interface Setup {
  /** The hostile file's name in the command's folder, and the most its kind may hold. */
  readonly name: string
  readonly limit: number
  /** The command, given how the hostile file is named; it may write the files that name it into `dir`. */
  readonly args: (named: string, dir: string) => string[]
  /** How the file is named in messages (default: as named). */
  readonly shown?: (named: string) => string
}

interface Case {
  readonly hostile: Hostile
  readonly dir: string
  readonly shown: string
  readonly args: string[]
}

/** `./name` for a file made beside the files that name it; an absolute path as it is. */
const ref = (named: string) => (named.startsWith('/') ? named : `./${named}`)

/**
 * For each kind of hostile file: a fresh folder, the file, the command run there. Every command
 * must end by itself with exit 2, naming the file and its problem, and write nothing.
 */
async function refusesEach(setup: Setup, check?: (r: CliResult, c: Case) => void, kinds: readonly Hostile[] = HOSTILE): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'lorapipe-hostile-files-'))
  const cases: Case[] = kinds.map((hostile, i) => {
    const dir = join(root, String(i))
    mkdirSync(dir)
    const named = hostile.make(dir, setup.name, setup.limit)
    return { hostile, dir, shown: setup.shown ? setup.shown(named) : named, args: setup.args(named, dir) }
  })
  const before = new Map(cases.map((c) => [c.dir, readdirSync(c.dir).sort()]))
  // Two at a time: the machine running the suite may have two cores.
  const results: (CliResult & { hung: boolean })[] = []
  for (let i = 0; i < cases.length; i += 2) results.push(...(await Promise.all(cases.slice(i, i + 2).map((c) => lorapipeIn(c.dir, c.args)))))
  const failures: string[] = []
  cases.forEach((c, i) => {
    const r = results[i]!
    try {
      assert.equal(r.hung, false, `it hung (killed after ${HANG_MS / 1000} s)`)
      assert.equal(r.code, 2, `exit ${r.code}\n${r.stderr}`)
      assert.ok(r.stderr.includes(c.shown), `the message names ${c.shown}:\n${r.stderr}`)
      assert.match(r.stderr, c.hostile.says)
      assert.doesNotMatch(r.stderr, STACK, 'no stack trace')
      assert.deepEqual(readdirSync(c.dir).sort(), before.get(c.dir), 'nothing written')
      check?.(r, c)
    } catch (e) {
      failures.push(`${c.hostile.name}: lorapipe ${c.args.join(' ')}\n  ${(e as Error).message.split('\n').join('\n  ')}`)
    }
  })
  assert.deepEqual(failures, [], failures.join('\n\n'))
}

const pipelineText = (extra: string) => `name: p\n${extra}stages:\n  train:\n    uses: ${join(fixtures, 'stages', 'bow-logreg.ts')}\n    with: { train: ${join(fixtures, 'data', 'bow-train.tsv')}, eval: ${join(fixtures, 'data', 'bow-dev.tsv')}, epochs: 1 }\n`
const sweepText = (base: string) => `name: s\nbase: ${base}\nmethod: grid\nmetric: { name: train.eval_accuracy, goal: maximize }\nparameters:\n  stages.train.with.epochs: { values: [1, 2] }\n`

describe('a pipeline file that is not a file to read', { skip }, () => {
  test('validate refuses it at once, naming it (exit 2)', { timeout: 120_000 }, () => refusesEach({ name: 'p.yaml', limit: LIMITS.yaml, args: (f) => ['validate', f] }))

  test('run refuses it at once and writes no run folder', { timeout: 120_000 }, () => refusesEach({ name: 'p.yaml', limit: LIMITS.yaml, args: (f) => ['run', f, '--out', 'out'] }))

  test('as the target of `extends`, validate (and run, for a FIFO and /dev/zero) refuse it at the `extends` line', { timeout: 120_000 }, async () => {
    for (const [cmd, kinds] of [[['validate', 'top.yaml'], HOSTILE], [['run', 'top.yaml', '--out', 'out'], HANGS]] as const) {
      await refusesEach(
        { name: 'base.yaml', limit: LIMITS.yaml, args: (f, dir) => (writeFileSync(join(dir, 'top.yaml'), pipelineText(`extends: ${ref(f)}\n`)), [...cmd]) },
        (r) => assert.match(r.stderr, /top\.yaml:2:10: error: cannot load `extends` file /),
        kinds,
      )
    }
  })

  test('as a stage module (`uses:`), validate (and run, for a FIFO and /dev/zero) refuse it at the `uses` line without importing it', { timeout: 120_000 }, async () => {
    for (const [cmd, kinds] of [[['validate', 'm.yaml'], HOSTILE], [['run', 'm.yaml', '--out', 'out'], HANGS]] as const) {
      await refusesEach(
        { name: 'stage.ts', limit: LIMITS.module, args: (f, dir) => (writeFileSync(join(dir, 'm.yaml'), `name: m\nstages:\n  s:\n    uses: ${ref(f)}\n`), [...cmd]) },
        (r) => assert.match(r.stderr, /m\.yaml:4:11: error: stage module /),
        kinds,
      )
    }
  })
})

describe('a sweep file or base pipeline that is not a file to read', { skip }, () => {
  test('sweep refuses the sweep file at once and writes no sweep folder', { timeout: 120_000 }, () => refusesEach({ name: 's.yaml', limit: LIMITS.yaml, args: (f) => ['sweep', f, '--out', 'out'] }))

  test('sweep (and validate, for a FIFO and /dev/zero) refuse the base pipeline at the `base` line', { timeout: 120_000 }, async () => {
    for (const [cmd, kinds] of [[['sweep', 's.yaml', '--out', 'out'], HOSTILE], [['validate', 's.yaml'], HANGS]] as const) {
      await refusesEach(
        { name: 'base.yaml', limit: LIMITS.yaml, args: (f, dir) => (writeFileSync(join(dir, 's.yaml'), sweepText(ref(f))), [...cmd]) },
        (r) => assert.match(r.stderr, /s\.yaml:2:7: error: base pipeline /),
        kinds,
      )
    }
  })
})

describe('a run or sweep folder whose record is not a file to read', { skip }, () => {
  test('run --resume and sweep --resume refuse a FIFO or /dev/zero in place of run.json, config.resolved.yaml or sweep.json', { timeout: 60_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'lorapipe-hostile-records-'))
    const made = (name: string, files: Record<string, string | 'fifo' | 'zero'>) => {
      const dir = join(root, name)
      mkdirSync(dir)
      for (const [f, content] of Object.entries(files)) {
        if (content === 'fifo') spawnSync('mkfifo', [join(dir, f)])
        else if (content === 'zero') symlinkSync('/dev/zero', join(dir, f))
        else writeFileSync(join(dir, f), content)
      }
      return dir
    }
    const runJson = JSON.stringify({ pipeline: 'p', file: join(root, 'p.yaml'), dir: root, sets: [], cwd: root, startedAt: new Date().toISOString() })
    const cases = [
      { dir: made('run-fifo', { 'run.json': 'fifo' }), args: (d: string) => ['run', '--resume', d], says: /run\.json is a FIFO \(named pipe\), not a regular file/ },
      { dir: made('run-zero', { 'run.json': runJson, 'config.resolved.yaml': 'zero' }), args: (d: string) => ['run', '--resume', d], says: /config\.resolved\.yaml: error: is a character device, not a regular file/ },
      { dir: made('sweep-fifo', { 'sweep.json': 'fifo', 'sweep.jsonl': '' }), args: (d: string) => ['sweep', '--resume', d], says: /sweep\.json is a FIFO \(named pipe\), not a regular file/ },
    ]
    for (const c of cases) {
      const before = readdirSync(c.dir).sort()
      const r = await lorapipeIn(root, c.args(c.dir))
      assert.equal(r.hung, false, `${c.args(c.dir).join(' ')} hung`)
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, c.says)
      assert.doesNotMatch(r.stderr, STACK)
      assert.deepEqual(readdirSync(c.dir).sort(), before, 'nothing written')
    }
  })
})

describe('predict --input that is not a file to read', { skip }, () => {
  test('predict refuses it at once, naming it (exit 2)', { timeout: 120_000 }, () =>
    refusesEach({ name: 'texts.txt', limit: LIMITS.text, args: (f, dir) => (mkdirSync(join(dir, 'model')), ['predict', '--model', './model', '--input', f]) }))
})

describe('data, model files and configs that are not files to read', { skip: skip || needsShared }, () => {
  const model = () => shared('fixtures', 'tiny-distilbert')
  const local = () => ['--set', `model.path=${model()}`, '--set', `dataset.eval.path=${shared('data', 'sst2', 'dev.tsv')}`]

  test('a data file: validate refuses it at the --set that named it (exit 2)', { timeout: 180_000 }, () =>
    refusesEach(
      { name: 'train.tsv', limit: LIMITS.text, args: (f, dir) => ['validate', sst2, ...local(), '--set', `dataset.train.path=${resolve(dir, f)}`], shown: basename },
      (r) => assert.match(r.stderr, /^--set dataset\.train\.path=\S+: error: /m),
    ))

  test('a data file: run refuses it (a FIFO, /dev/zero) and writes no run folder', { timeout: 180_000 }, () =>
    refusesEach({ name: 'train.tsv', limit: LIMITS.text, args: (f, dir) => ['run', sst2, ...local(), '--set', `dataset.train.path=${resolve(dir, f)}`, '--out', 'out'], shown: basename }, undefined, HANGS))

  test('--set dataset.train.path=<a folder> says it is a folder, not "file not found; did you mean" the same path', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-hostile-folder-'))
    mkdirSync(join(dir, 'data'))
    const r = await lorapipeIn(dir, ['validate', sst2, ...local(), '--set', `dataset.train.path=${join(dir, 'data')}`])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, new RegExp(`^--set dataset\\.train\\.path=${join(dir, 'data')}: error: ${join(dir, 'data')}:? is a folder, not a file`, 'm'))
    assert.doesNotMatch(r.stderr, /file not found|did you mean/)
  })

  test('a model config (model.config): validate refuses it at once (exit 2)', { timeout: 180_000 }, () =>
    refusesEach({ name: 'config.json', limit: LIMITS.config, args: (f, dir) => ['validate', sst2, ...local(), '--set', `dataset.train.path=${shared('data', 'sst2', 'dev.tsv')}`, '--set', `model.config=${resolve(dir, f)}`], shown: basename }))

  test('a model folder whose tokenizer.json, config.json or weights are a FIFO: predict refuses it at once (exit 2)', { timeout: 60_000 }, async () => {
    for (const file of ['tokenizer.json', 'config.json', 'model.safetensors']) {
      const dir = mkdtempSync(join(tmpdir(), 'lorapipe-hostile-model-'))
      cpSync(model(), join(dir, 'model'), { recursive: true })
      const target = join(dir, 'model', file)
      spawnSync('rm', [target])
      spawnSync('mkfifo', [target])
      const r = await lorapipeIn(dir, ['predict', '--model', './model', '--text', 'a fine film'])
      assert.equal(r.hung, false, `${file}: hung`)
      assert.equal(r.code, 2, `${file}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`${file.replace('.', '\\.')}:? is a FIFO \\(named pipe\\), not a regular file`))
      assert.doesNotMatch(r.stderr, STACK)
    }
  })
})
