// Input written to break the loader: alias bombs, huge or deeply nested files, keys that reach
// JavaScript internals, numbers JSON cannot hold, paths that climb out of the cache. Each is a
// located diagnostic (exit 2 in the CLI), never a thrown error, and loading stays linear.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { formatDiagnostics } from '../../src/index.ts'
import { parseYaml, YAML_LIMITS } from '../../src/source/document.ts'
import { at, loadErrors, loadOk, minimalJob, writeFiles } from '../support.ts'

async function errorsOf(yaml: string, opts: { sets?: string[] } = {}) {
  const dir = writeFiles({ 'p.yaml': yaml })
  return loadErrors(join(dir, 'p.yaml'), opts)
}

/** The classic billion-laughs document: each level repeats the previous one nine times. */
function aliasBomb(levels: number): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  const names = 'bcdefghijk'
  for (let i = 0; i < levels; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${i === 0 ? 'a' : names[i - 1]}`).join(',')}]`)
  return lines.join('\n') + '\n'
}

describe('YAML limits', () => {
  test('an alias bomb is one diagnostic at the alias that crosses the limit, not a ReferenceError', async () => {
    for (const levels of [4, 8]) {
      const ds = await errorsOf(aliasBomb(levels))
      assert.equal(ds.length, 1, formatDiagnostics(ds))
      assert.match(ds[0]!.message, /YAML aliases expand to more than 10,000 values/)
      assert.equal(ds[0]!.location?.line, 5) // 9^4 = 6,561 after line 4; line 5 passes 10,000
    }
  })

  test('a few aliases of small values are fine and expand as YAML says', () => {
    const r = parseYaml('f.yaml', 'base: &b { lr: 1, n: [1, 2] }\nx: *b\ny: [*b, *b]\n')
    assert.ok(r.ok)
    assert.deepEqual((r.doc.value as Record<string, unknown>).y, [{ lr: 1, n: [1, 2] }, { lr: 1, n: [1, 2] }])
  })

  test('an alias inside its own anchor and an alias without an anchor are errors at the alias', () => {
    const self = parseYaml('f.yaml', 'a: &x [1, *x]\n')
    assert.ok(!self.ok)
    assert.deepEqual(self.diagnostics.map((d) => [d.location?.line, d.location?.column, d.message]), [[1, 11, 'YAML alias `*x` refers to a value that contains it']])
    const missing = parseYaml('f.yaml', 'name: x\nmodel: *nothing\n')
    assert.ok(!missing.ok)
    assert.match(missing.diagnostics[0]!.message, /alias `\*nothing` has no anchor/)
  })

  test('nesting deeper than the limit is an error at the place it crosses it, whether written out, in flow style or through aliases', () => {
    let block = ''
    for (let i = 0; i < 80; i++) block += `${'  '.repeat(i)}k${i}:\n`
    block += `${'  '.repeat(80)}v: 1\n`
    const b = parseYaml('f.yaml', block)
    assert.ok(!b.ok)
    assert.match(b.diagnostics[0]!.message, /nesting is deeper than 64 levels/)
    assert.equal(b.diagnostics[0]!.location?.line, 65)
    const flow = parseYaml('f.yaml', `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)
    assert.ok(!flow.ok)
    assert.match(flow.diagnostics[0]!.message, /nesting (is deeper than 64 levels|is too deep)/)
    const viaAlias = parseYaml('f.yaml', `a: &d ${'['.repeat(40)}${']'.repeat(40)}\nb: ${'['.repeat(30)}*d${']'.repeat(30)}\n`)
    assert.ok(!viaAlias.ok)
    assert.match(viaAlias.diagnostics[0]!.message, /deeper than 64/)
  })

  test('a file over the size limit is refused before it is parsed, naming both sizes', async () => {
    const big = 'name: x\ndescription: "' + 'x'.repeat(YAML_LIMITS.maxBytes) + '"\n'
    const ds = await errorsOf(big)
    assert.equal(ds.length, 1)
    assert.match(ds[0]!.message, /the file is 4\.0 MiB; a pipeline or sweep file may be at most 4\.0 MiB/)
  })

  test('a flat file of 30,000 keys loads in linear time: every unknown key reported, the output capped', { timeout: 60_000 }, async () => {
    // Quadratic steps (the parser's duplicate-key check, source-map merging, a line split per
    // diagnostic) made this take many minutes; linear, it takes seconds even on a busy machine.
    const n = 30_000
    const yaml = minimalJob + Array.from({ length: n }, (_, i) => `k${i}: ${i}\n`).join('')
    const ds = await errorsOf(yaml)
    assert.equal(ds.length, n)
    assert.deepEqual(at(ds.slice(0, 1)), ['13:1 unknown key `k0` | valid keys: name, description, seed, extends, vars, runtime, model, lora, dataset, tokenizer, trainer, output, stages'])
    const text = formatDiagnostics(ds)
    assert.match(text, /\.\.\. and 29900 more\n30000 errors$/)
  })

  test('duplicate keys are still found, once per repeat, at the repeated key', async () => {
    const ds = await errorsOf('name: x\nname: y\nname: z\n')
    assert.deepEqual(at(ds), ['2:1 YAML syntax error: Map keys must be unique | each key may appear once in a map', '3:1 YAML syntax error: Map keys must be unique | each key may appear once in a map'])
  })
})

describe('keys that reach JavaScript internals', () => {
  test('__proto__, constructor and prototype are unknown keys wherever they are written', async () => {
    const ds = await errorsOf(minimalJob.replace('  epochs: 1', '  epochs: 1\n  __proto__: { polluted: 1 }') + 'vars:\n  constructor: 1\n  x: { prototype: 2 }\n')
    assert.deepEqual(
      ds.map((d) => `${d.location?.line}:${d.location?.column} ${d.message}`),
      ['13:3 unknown key `__proto__` in `trainer`', '15:3 unknown key `constructor` in `vars`', '16:8 unknown key `prototype` in `vars.x`'],
    )
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })

  test('the same through --set, as a key path or inside a value', async () => {
    const a = await errorsOf(minimalJob, { sets: ['trainer.__proto__.x=1'] })
    assert.deepEqual(at(a), ['0:0 unknown key `__proto__` | `__proto__`, `constructor` and `prototype` are not keys of any lorapipe file'])
    const b = await errorsOf(minimalJob, { sets: ['trainer={__proto__: {x: 1}}'] })
    assert.match(b[0]!.message, /unknown key `__proto__`/)
  })
})

describe('numbers', () => {
  test('infinity and NaN never pass the schema, from the file or from --set', async () => {
    const ds = await errorsOf(minimalJob.replace('  epochs: 1', '  epochs: 1\n  max_steps: .inf\n  learning_rate: 1e400\n  weight_decay: .nan\n  warmup_ratio: -.inf'))
    assert.deepEqual(
      ds.map((d) => `${d.location?.line}:${d.location?.column} ${d.message}`),
      [
        '13:14 `trainer.max_steps` must be a finite number, not infinity',
        '14:18 `trainer.learning_rate` must be a finite number, not infinity',
        '15:17 `trainer.weight_decay` must be a finite number, not NaN',
        '16:17 `trainer.warmup_ratio` must be a finite number, not -infinity',
      ],
    )
    const set = await errorsOf(minimalJob, { sets: ['trainer.learning_rate=.inf'] })
    assert.deepEqual(at(set), ['0:0 `trainer.learning_rate` must be a finite number, not infinity | YAML reads `.inf` and numbers beyond ±1.8e308 (such as 1e400) as infinity'])
    assert.equal(set[0]!.location?.file, '--set trainer.learning_rate=.inf')
  })

  test('a field of a stage`s `with` is checked the same way', async () => {
    const ds = await errorsOf('name: x\nstages:\n  a:\n    uses: finetune\n    with:\n      model: { path: ./m, num_labels: 2 }\n      lora: null\n      dataset: { train: { path: t.tsv } }\n      trainer: { epochs: .inf }\n')
    assert.deepEqual(at(ds), ['9:26 `stages.a.with.trainer.epochs` must be a finite number, not infinity | YAML reads `.inf` and numbers beyond ±1.8e308 (such as 1e400) as infinity'])
  })

  test('seed: -1 is one error, at the seed', async () => {
    const ds = await errorsOf(minimalJob.replace('name: tiny', 'name: tiny\nseed: -1'))
    assert.deepEqual(at(ds), ['2:7 `seed` must be >= 0, not -1'])
  })
})

describe('names that become paths', () => {
  test('`..` in a revision or a dataset config is bad input at validation', async () => {
    const ds = await errorsOf(minimalJob.replace('  num_labels: 2', '  num_labels: 2\n  revision: ../../../etc').replace('  text_column: sentence', '  text_column: sentence\n  config: ..\n  revision: main/../x'))
    assert.deepEqual(
      ds.map((d) => `${d.location?.line}:${d.location?.column} ${d.message}`),
      [
        '5:13 `model.revision` must be a branch, tag or commit: names separated by `/`, none of them `.` or `..`; not the string "../../../etc"',
        '10:11 `dataset.config` must be a configuration name such as `sst2` (no `/`, not `.` or `..`); not the string ".."',
        '11:13 `dataset.revision` must be a branch, tag or commit: names separated by `/`, none of them `.` or `..`; not the string "main/../x"',
      ],
    )
    for (const bad of ['/etc', 'a//b', 'x.lock', 'a\\b', 'dir/../x']) assert.equal((await errorsOf(minimalJob, { sets: [`model.revision=${bad}`] })).length, 1, bad)
  })

  test('real revisions and configs stay valid', async () => {
    for (const rev of ['main', 'v1.0', 'refs/convert/parquet', 'refs/pr/12', '0123456789abcdef0123456789abcdef01234567']) {
      const dir = writeFiles({ 'p.yaml': minimalJob.replace('  text_column: sentence', `  text_column: sentence\n  config: 20220301.en\n  revision: ${rev}`) })
      await loadOk(join(dir, 'p.yaml'))
    }
  })
})

describe('extends', () => {
  test('a missing base says that paths are relative to the file that names it', async () => {
    const dir = writeFiles({ 'sub/p.yaml': 'extends: ./base.yaml\nname: x\n', 'base.yaml': 'name: base\n' })
    const ds = await loadErrors(join(dir, 'sub', 'p.yaml'))
    assert.equal(ds.length, 1)
    assert.match(ds[0]!.message, /cannot load `extends` file \.\/base\.yaml: file not found/)
    assert.match(ds[0]!.hint!, /relative to the file that names them; this one is .*sub\/base\.yaml$/)
    assert.doesNotMatch(ds[0]!.hint!, /current folder/)
  })
})
