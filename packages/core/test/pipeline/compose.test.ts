// Composition: `extends` deep-merges files, `${vars.x}` / `${env.NAME}` interpolate, and `--set`
// overrides values typed by the schema. Errors still point at the file (or --set) that caused them.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { at, loadErrors, loadOk, minimalJob, writeFiles } from '../support.ts'

describe('extends', () => {
  test('a child is deep-merged over its base: maps merge, scalars and lists replace, null turns a section off', async () => {
    const dir = writeFiles({
      'base.yaml': minimalJob.replace('  epochs: 1', '  epochs: 1\n  batch_size: 16\n  learning_rate: 2.0e-4'),
      'child.yaml': 'extends: ./base.yaml\nname: child\nlora: null\ntrainer:\n  learning_rate: 1.0e-5\n',
    })
    const p = await loadOk(join(dir, 'child.yaml'))
    const params = p.stages.get('finetune')!.params as any
    assert.equal(p.name, 'child')
    assert.equal(params.lora, null)
    assert.equal(params.trainer.learning_rate, 1e-5)
    assert.equal(params.trainer.batch_size, 16)
    assert.equal(params.trainer.epochs, 1)
    assert.equal(params.model.path, './model')
    assert.equal(p.files.length, 2)
  })

  test('a list of bases merges left to right', async () => {
    const dir = writeFiles({
      'a.yaml': minimalJob,
      'b.yaml': 'trainer:\n  epochs: 5\n  batch_size: 4\n',
      'c.yaml': 'extends: [./a.yaml, ./b.yaml]\nname: c\ntrainer:\n  batch_size: 2\n',
    })
    const params = (await loadOk(join(dir, 'c.yaml'))).stages.get('finetune')!.params as any
    assert.deepEqual([params.trainer.epochs, params.trainer.batch_size], [5, 2])
  })

  test('errors in a base file point into the base file', async () => {
    const dir = writeFiles({
      'base.yaml': minimalJob.replace('  epochs: 1', '  epochs: 1\n  learning_rte: 1'),
      'child.yaml': 'extends: ./base.yaml\nname: child\n',
    })
    const ds = await loadErrors(join(dir, 'child.yaml'))
    assert.equal(ds.length, 1)
    assert.match(ds[0]!.location!.file, /base\.yaml$/)
    assert.deepEqual([ds[0]!.location!.line, ds[0]!.location!.column], [13, 3])
  })

  test('a missing base is an error at the extends line', async () => {
    const dir = writeFiles({ 'child.yaml': 'name: child\nextends: ./nope.yaml\n' })
    const ds = await loadErrors(join(dir, 'child.yaml'))
    assert.equal(ds.length, 1)
    assert.equal(at(ds)[0]!.split(' | ')[0], '2:10 cannot load `extends` file ./nope.yaml: file not found')
    assert.match(ds[0]!.hint!, /^`extends` paths are relative to the file that names them; this one is .*nope\.yaml$/)
  })

  test('an extends cycle is an error naming the files', async () => {
    const dir = writeFiles({ 'a.yaml': 'extends: ./b.yaml\nname: a\n', 'b.yaml': 'extends: ./a.yaml\n' })
    const ds = await loadErrors(join(dir, 'a.yaml'))
    assert.equal(ds.length, 1)
    assert.match(ds[0]!.message, /`extends` cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml/)
  })
})

describe('vars and env', () => {
  test('a whole-string reference keeps the value type; inside a string it is spliced as text', async () => {
    const dir = writeFiles({
      'p.yaml': minimalJob.replace('name: tiny', 'name: tiny\nvars:\n  lr: 3.0e-4\n  data: /data/sst2').replace('train.tsv', '"${vars.data}/train.tsv"') + '  learning_rate: ${vars.lr}\n',
    })
    const params = (await loadOk(join(dir, 'p.yaml'))).stages.get('finetune')!.params as any
    assert.equal(params.trainer.learning_rate, 3e-4)
    assert.equal(params.dataset.train.path, '/data/sst2/train.tsv')
  })

  test('env references read the environment, with defaults', async () => {
    const dir = writeFiles({ 'p.yaml': minimalJob.replace('./model', '${env.MODEL_DIR}').replace('dev.tsv', '"${env.EVAL_FILE:-dev-default.tsv}"') })
    const params = (await loadOk(join(dir, 'p.yaml'), { env: { MODEL_DIR: '/models/m' } })).stages.get('finetune')!.params as any
    assert.equal(params.model.path, '/models/m')
    assert.equal(params.dataset.eval.path, 'dev-default.tsv')
  })

  test('an undefined var or unset env var is one error at its place, with the closest name', async () => {
    const dir = writeFiles({ 'p.yaml': minimalJob.replace('name: tiny', 'name: tiny\nvars:\n  rate: 1').replace('./model', '${env.NOPE_NOT_SET}') + '  learning_rate: ${vars.rat}\n' })
    const ds = await loadErrors(join(dir, 'p.yaml'), { env: {} })
    assert.deepEqual(at(ds), [
      '5:9 environment variable NOPE_NOT_SET is not set (referenced as `${env.NOPE_NOT_SET}`) | set it, or give a default: `${env.NOPE_NOT_SET:-value}`',
      '15:18 `${vars.rat}` refers to `vars.rat`, which is not defined | did you mean `rate`?',
    ])
  })

  test('`$${` escapes a literal `${`', async () => {
    const dir = writeFiles({ 'p.yaml': minimalJob.replace('name: tiny', () => 'name: tiny\ndescription: "costs $${HOME}"') })
    assert.equal((await loadOk(join(dir, 'p.yaml'))).resolved.description, 'costs ${HOME}')
  })
})

describe('--set', () => {
  test('values are typed by the schema: numbers, booleans, lists, and strings that look like numbers', async () => {
    const dir = writeFiles({ 'p.yaml': minimalJob })
    const p = await loadOk(join(dir, 'p.yaml'), {
      sets: ['trainer.learning_rate=1e-4', 'trainer.group_by_length=true', 'lora.target_modules=[q_lin,k_lin,v_lin]', 'model.revision=1234', 'seed=7'],
    })
    const params = p.stages.get('finetune')!.params as any
    assert.equal(params.trainer.learning_rate, 1e-4)
    assert.equal(params.trainer.group_by_length, true)
    assert.deepEqual(params.lora.target_modules, ['q_lin', 'k_lin', 'v_lin'])
    assert.equal(params.model.revision, '1234')
    assert.equal(p.seed, 7)
  })

  test('--set can switch to full fine-tuning and reach stage parameters', async () => {
    const dir = writeFiles({ 'p.yaml': minimalJob })
    const params = (await loadOk(join(dir, 'p.yaml'), { sets: ['lora=null'] })).stages.get('finetune')!.params as any
    assert.equal(params.lora, null)
    const dir2 = writeFiles({ 'p.yaml': 'name: x\nstages:\n  c:\n    uses: compare\n    with: { runs: { m: x.json } }\n' })
    const p2 = await loadOk(join(dir2, 'p.yaml'), { sets: ['stages.c.with.metric=loss'] })
    assert.equal((p2.stages.get('c')!.params as any).metric, 'loss')
  })

  test('a bad --set is reported against the argument, with a suggestion', async () => {
    const dir = writeFiles({ 'p.yaml': minimalJob })
    const ds = await loadErrors(join(dir, 'p.yaml'), { sets: ['trainer.learning_rate=abc', 'trainer.epocs=3', 'nonsense'] })
    const shown = ds.map((d) => `${d.location?.file}: ${d.message}${d.hint ? ` | ${d.hint}` : ''}`)
    assert.deepEqual(shown.sort(), [
      '--set nonsense: expected `--set key.path=value` | e.g. `--set trainer.learning_rate=1e-4`',
      '--set trainer.epocs=3: unknown key `epocs` in `trainer` | did you mean `epochs`?',
      '--set trainer.learning_rate=abc: `trainer.learning_rate` must be a number, not the string "abc"',
    ])
  })
})

describe('--set paths', () => {
  test('a path given with --set is relative to the current folder; in the file, to the file', async () => {
    const dir = writeFiles({ 'sub/p.yaml': minimalJob })
    const p = await loadOk(join(dir, 'sub', 'p.yaml'), { sets: ['dataset.train.path=data/train.tsv', 'model.path=/abs/model'] })
    const params = p.stages.get('finetune')!.params as any
    assert.equal(params.dataset.train.path, join(process.cwd(), 'data', 'train.tsv'))
    assert.equal(params.model.path, '/abs/model')
    assert.equal(params.dataset.eval.path, 'dev.tsv', 'file values stay as written; stages resolve them from the file')
  })
})
