// A sweep that would produce an invalid pipeline is refused before any trial starts: the error
// names the parameter and the value, points at the value in the sweep file, and quotes the
// pipeline's own error.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatDiagnostics } from '../../../src/diagnostics.ts'
import { sweepTextsOf } from '../../../src/sweep/file/types.ts'
import { at, errorsOf, head, sweepError, sweepOk, writeSweep } from './support.ts'

const grid = head.replace('method: random', 'method: grid')
const repo = fileURLToPath(new URL('../../../../../', import.meta.url))

describe('trial pipelines validated up front', () => {
  test('lora.r: {values: [0, 8]} is refused at the 0, with the pipeline\'s error', async () => {
    const e = await sweepError(writeSweep(`${grid}  lora.r: { values: [0, 8] }\n`))
    assert.deepEqual(at(e.diagnostics), ['6:22 `lora.r` = 0 makes an invalid pipeline: `lora.r` must be >= 1, not 0'])
    const text = formatDiagnostics(e.diagnostics, sweepTextsOf(e))
    assert.match(text, /sweep\.yaml:6:22: error: `lora\.r` = 0 makes an invalid pipeline: `lora\.r` must be >= 1, not 0 \(at parameters\.lora\.r\.values\[0\]\)\n  6 \|   lora\.r: \{ values: \[0, 8\] \}\n    \| {22}\^/)
  })

  test('random and TPE: both ends of a range, every choice and every bundle are loaded', async () => {
    const ds = await errorsOf(
      head +
        [
          '  lora.dropout: { distribution: uniform, min: 0, max: 1.5 }',
          '  lora.bias: { values: [none, some, all] }',
          '  rank:',
          '    together:',
          '      - { lora.r: 4, lora.alpha: 8 }',
          '      - { lora.r: 8, lora.alpha: -1 }',
          '  trainer.scheduler: { value: cosin }',
          '',
        ].join('\n'),
    )
    assert.deepEqual(at(ds), [
      '6:55 `lora.dropout` = 1.5 makes an invalid pipeline: `lora.dropout` must be < 1, not 1.5',
      '7:31 `lora.bias` = some makes an invalid pipeline: `lora.bias` must be one of `none`, `all`, `lora_only`, not the string "some" | did you mean `none`?',
      '11:9 `rank` bundle {"lora.r":8,"lora.alpha":-1} makes an invalid pipeline: `lora.alpha` must be > 0, not -1',
      '12:31 `trainer.scheduler` = cosin makes an invalid pipeline: `trainer.scheduler` must be one of `linear`, `cosine`, `constant`, `constant_with_warmup`, not the string "cosin" | did you mean `cosine`?',
    ])
  })

  test('the other problems of the file are reported with them', async () => {
    const ds = await errorsOf(`${head}  lora.r: { values: [0, 8] }\n  lora.rr: { value: 3 }\nruncap: 2\n`)
    assert.deepEqual(at(ds).map((s) => s.split(' ').slice(0, 2).join(' ')), ['6:22 `lora.r`', '7:3 `lora.rr`', '8:1 unknown'])
  })

  test('a grid of at most 256 combinations has each combination loaded: values valid alone can be invalid together', async () => {
    const body = '  model.num_labels: { values: [2, 3] }\n  model.labels: { values: [[neg, pos]] }\n'
    const ds = await errorsOf(grid + body)
    assert.deepEqual(at(ds), [
      '5:1 the combination `model.num_labels` = 3, `model.labels` = ["neg","pos"] makes an invalid pipeline: `model.labels` has 2 names but `model.num_labels` is 3 | make them agree, or drop num_labels',
    ])
    // Random and TPE only check values one at a time: the bad pair would fail its own trial.
    await sweepOk(writeSweep(head + body))
  })

  test('grid combinations are checked in the same pass as the rest of the file (a wrong metric, early_terminate) once every parameter is sound', async () => {
    const body = '  model.num_labels: { values: [2, 3] }\n  model.labels: { values: [[neg, pos]] }\nearly_terminate: { type: asha }\n'
    const ds = await errorsOf(grid.replace('eval_accuracy', 'eval_acc') + body)
    assert.deepEqual(at(ds).map((s) => s.split(' | ')[0]), [
      '3:17 unknown metric `eval_acc`',
      '5:1 the combination `model.num_labels` = 3, `model.labels` = ["neg","pos"] makes an invalid pipeline: `model.labels` has 2 names but `model.num_labels` is 3',
      '8:20 `type: asha` needs `min_steps`: the evaluations before the first rung',
    ])
  })

  test('a grid above 256 combinations is checked value by value only (each value is still loaded)', async () => {
    const many = (n: number) => `[${Array.from({ length: n }, (_, i) => i + 1).join(', ')}]`
    const body = `  model.num_labels: { values: [2, 3] }\n  model.labels: { values: [[neg, pos]] }\n  trainer.batch_size: { values: ${many(16)} }\n  trainer.eval_batch_size: { values: ${many(9)} }\n`
    const s = await sweepOk(writeSweep(grid + body))
    assert.equal(s.gridSize, 2 * 16 * 9)
    const bad = await errorsOf(grid + body.replace('values: [1, 2, 3', 'values: [0, 2, 3'))
    assert.deepEqual(at(bad).map((s) => s.split(' makes')[0]), ['8:34 `trainer.batch_size` = 0'])
  })

  test('a file path the base does not hold is left to the trial (validation does not open files)', async () => {
    await sweepOk(writeSweep(`${grid}  model.path: { values: [./missing-a, ./missing-b] }\n`))
  })

  test('a custom stage\'s parameters are checked against its own schema', async () => {
    const bow = join(repo, 'tests', 'fixtures', 'pipelines', 'bow.yaml')
    const sweep = (params: string) => `base: ${bow}\nmethod: grid\nmetric: { name: eval_accuracy }\nparameters:\n${params}`
    const ds = await errorsOf(sweep('  stages.train.with.learning_rte: { values: [0.1] }\n  stages.train.with.optimizer: { values: [adam, adamw] }\n'))
    assert.deepEqual(at(ds), [
      '5:3 `stages.train.with.learning_rte` is not a path of the base pipeline: unknown key `learning_rte` in `stages.train.with` | did you mean `stages.train.with.learning_rate`?',
      '6:49 `stages.train.with.optimizer` = adamw makes an invalid pipeline: `stages.train.with.optimizer` must be one of `adam`, `sgd`, not the string "adamw" | did you mean `adam`?',
    ])
  })
})
