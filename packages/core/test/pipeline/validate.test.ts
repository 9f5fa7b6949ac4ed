// Every class of bad input gets a diagnostic that names file:line:column, the path, what is wrong
// and, for names, the closest valid one; all problems of a file are reported together.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { at, loadErrors, loadOk, minimalJob, writeFiles } from '../support.ts'

async function errorsOf(yaml: string, extra: Record<string, string> = {}) {
  const dir = writeFiles({ 'p.yaml': yaml, ...extra })
  return loadErrors(join(dir, 'p.yaml'))
}

describe('validation', () => {
  test('a minimal single-job pipeline is valid and becomes one finetune stage with defaults filled in', async () => {
    const dir = writeFiles({ 'p.yaml': minimalJob })
    const p = await loadOk(join(dir, 'p.yaml'))
    assert.equal(p.shortForm, true)
    assert.deepEqual([...p.stages.keys()], ['finetune'])
    const params = p.stages.get('finetune')!.params as any
    assert.equal(params.trainer.learning_rate, 5e-5)
    assert.equal(params.lora.r, 8)
    assert.equal(params.tokenizer, undefined)
    assert.equal(p.seed, 42)
  })

  test('YAML syntax errors point at the line and column', async () => {
    const ds = await errorsOf('name: x\nmodel:\n  id: [unclosed\n')
    assert.equal(ds.length >= 1, true)
    assert.match(ds[0]!.message, /YAML syntax error/)
    assert.equal(ds[0]!.location?.file.endsWith('p.yaml'), true)
    assert.ok(ds[0]!.location!.line >= 3)
  })

  test('a duplicate key is an error', async () => {
    const ds = await errorsOf('name: x\nname: y\n')
    assert.deepEqual(at(ds).map((s) => s.split(' ')[0]), ['2:1'])
    assert.match(ds[0]!.message, /YAML syntax error.*[Mm]ap keys must be unique/)
  })

  test('unknown keys are errors with the closest valid key, at the key itself', async () => {
    const ds = await errorsOf(minimalJob.replace('  epochs: 1', '  epochs: 1\n  learning_rte: 1e-4'))
    assert.deepEqual(at(ds), ['13:3 unknown key `learning_rte` in `trainer` | did you mean `learning_rate`?'])
    assert.equal(ds[0]!.pointer, '/trainer/learning_rte')
  })

  test('an unknown top-level key suggests the section', async () => {
    const ds = await errorsOf(minimalJob + 'traner:\n  epochs: 2\n')
    assert.deepEqual(at(ds), ['13:1 unknown key `traner` | did you mean `trainer`?'])
  })

  test('wrong types say what was expected and what was found', async () => {
    const ds = await errorsOf(minimalJob.replace('  epochs: 1', '  epochs: 1\n  learning_rate: fast'))
    assert.deepEqual(at(ds), ['13:18 `trainer.learning_rate` must be a number, not the string "fast"'])
  })

  test('enums list the allowed values and suggest the closest', async () => {
    const ds = await errorsOf(minimalJob.replace('  epochs: 1', '  epochs: 1\n  scheduler: cosin'))
    assert.equal(at(ds)[0], '13:14 `trainer.scheduler` must be one of `linear`, `cosine`, `constant`, `constant_with_warmup`, not the string "cosin" | did you mean `cosine`?')
  })

  test('out-of-range numbers name the bound', async () => {
    const ds = await errorsOf(minimalJob.replace('  epochs: 1', '  epochs: 1\n  batch_size: 0'))
    assert.deepEqual(at(ds), ['13:15 `trainer.batch_size` must be >= 1, not 0'])
  })

  test('a missing required section is reported with how to fix it', async () => {
    const ds = await errorsOf(minimalJob.replace(/lora:\n  target_modules: \[q_lin, v_lin\]\n/, ''))
    assert.equal(ds.length, 1)
    assert.match(ds[0]!.message, /missing required key `lora`/)
    assert.equal(ds[0]!.hint, 'give a LoRA config, or `lora: null` for full fine-tuning')
  })

  test('a model without id or path is rejected before anything runs', async () => {
    const ds = await errorsOf(minimalJob.replace('  path: ./model\n', ''))
    assert.deepEqual(at(ds), ['3:3 the model needs `id` (a hub repository) or `path` (a local folder) | or `init: random` with a `config` file'])
  })

  test('labels that disagree with num_labels are an error', async () => {
    const ds = await errorsOf(minimalJob.replace('  num_labels: 2', '  num_labels: 3\n  labels: [neg, pos]'))
    assert.deepEqual(at(ds), ['5:11 `model.labels` has 2 names but `model.num_labels` is 3 | make them agree, or drop num_labels'])
  })

  test('all errors of a file are reported at once, in file order', async () => {
    const ds = await errorsOf(
      minimalJob
        .replace('  num_labels: 2', '  num_labels: two')
        .replace('  epochs: 1', '  epochs: -1\n  batch_size: 1.5\n  warmup_stepz: 3'),
    )
    assert.deepEqual(
      at(ds).map((s) => s.split(' ')[0]),
      ['4:15', '12:11', '13:15', '14:3'],
    )
  })

  test('unknown stage names suggest the closest built-in', async () => {
    const ds = await errorsOf('name: x\nstages:\n  a:\n    uses: fintune\n')
    assert.deepEqual(at(ds), ['4:11 unknown stage `fintune` | did you mean `finetune`?'])
  })

  test('a missing needs target is an error naming both stages', async () => {
    const ds = await errorsOf('name: x\nstages:\n  a:\n    uses: compare\n    with: { runs: { m: x.json } }\n  b:\n    uses: compare\n    needs: [aa]\n    with: { runs: { m: x.json } }\n')
    assert.deepEqual(at(ds), ['8:13 stage `b` needs `aa`, which is not a stage of this pipeline | did you mean `a`?'])
  })

  test('a dependency cycle is an error naming the stages in the cycle', async () => {
    const ds = await errorsOf(
      'name: x\nstages:\n  a:\n    uses: compare\n    needs: c\n    with: { runs: { m: x.json } }\n  b:\n    uses: compare\n    needs: a\n    with: { runs: { m: x.json } }\n  c:\n    uses: compare\n    needs: b\n    with: { runs: { m: x.json } }\n',
    )
    assert.equal(ds.length, 1)
    assert.equal(ds[0]!.message, 'dependency cycle: a -> c -> b -> a')
    assert.deepEqual([ds[0]!.location?.line, ds[0]!.location?.column], [5, 12])
  })

  test('an output reference is a dependency; a wrong output name is an error with the outputs listed', async () => {
    const ds = await errorsOf(
      'name: x\nstages:\n  a:\n    uses: compare\n    with: { runs: { m: x.json } }\n  b:\n    uses: compare\n    with:\n      runs: { m: "${stages.a.outputs.jsn}" }\n',
    )
    assert.deepEqual(at(ds), ['9:18 stage `a` (compare) has no output `jsn` | did you mean `json`?'])
    const dir = writeFiles({ 'p.yaml': 'name: x\nstages:\n  a:\n    uses: compare\n    with: { runs: { m: x.json } }\n  b:\n    uses: compare\n    with:\n      runs: { m: "${stages.a.outputs.json}" }\n' })
    const p = await loadOk(join(dir, 'p.yaml'))
    assert.deepEqual(p.stages.get('b')!.needs, ['a'])
  })

  test('stage parameters are validated like the file, at the place they were written', async () => {
    const ds = await errorsOf('name: x\nstages:\n  c:\n    uses: compare\n    with:\n      runs: { m: x.json }\n      metrc: loss\n')
    assert.deepEqual(at(ds), ['7:7 unknown key `metrc` in `stages.c.with` | did you mean `metric`?'])
  })

  test('a stage module that does not exist is an error at `uses`', async () => {
    const ds = await errorsOf('name: x\nstages:\n  a:\n    uses: ./stages/nope.ts\n')
    assert.equal(ds.length, 1)
    assert.match(ds[0]!.message, /stage module \.\/stages\/nope\.ts not found/)
    assert.deepEqual([ds[0]!.location?.line, ds[0]!.location?.column], [4, 11])
  })

  test('a module that exports no stage is an error saying what to export', async () => {
    const ds = await errorsOf('name: x\nstages:\n  a:\n    uses: ./s.ts\n', { 's.ts': 'export const x = 1\n' })
    assert.match(ds[0]!.message, /does not export a stage/)
    assert.match(ds[0]!.hint!, /defineStage/)
  })

  test('a file that is not a map is rejected', async () => {
    const ds = await errorsOf('- just\n- a list\n')
    assert.match(ds[0]!.message, /must be a YAML map/)
  })

  test('a missing pipeline file is reported, not thrown', async () => {
    const dir = writeFiles({})
    const ds = await loadErrors(join(dir, 'missing.yaml'))
    assert.match(ds[0]!.message, /file not found/)
  })
})
