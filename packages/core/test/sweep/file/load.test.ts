// A valid sweep file becomes a ValidatedSweep: the search space in file order with W&B's meaning
// of each entry, the metric tied to the stage that reports it, and the defaults filled in.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { head, sweepOk, writeSweep } from './support.ts'

const repo = fileURLToPath(new URL('../../../../../', import.meta.url))

describe('loading a sweep file', () => {
  test('the seed sweep: TPE over rank with alpha, a log-uniform learning rate and the target modules, with ASHA', async () => {
    const s = await sweepOk(join(repo, 'pipelines', 'sst2-sweep.yaml'))
    assert.equal(s.name, 'sst2-sweep')
    assert.equal(s.method, 'tpe')
    assert.equal(s.base, join(repo, 'pipelines', 'sst2-lora.yaml'))
    assert.deepEqual(s.metric, { name: 'eval_accuracy', stage: 'finetune', key: 'accuracy', goal: 'maximize' })
    assert.deepEqual(
      s.space.map((p) => [p.name, p.domain.kind]),
      [
        ['rank', 'together'],
        ['trainer.learning_rate', 'float'],
        ['lora.target_modules', 'categorical'],
      ],
    )
    assert.deepEqual(s.space[1]!.domain, { kind: 'float', low: 1e-5, high: 1e-3, log: true })
    assert.deepEqual(s.space[2]!.domain, { kind: 'categorical', choices: [['q_lin', 'v_lin'], 'all-linear'] })
    assert.deepEqual(s.paths.get('rank'), ['lora.r', 'lora.alpha'])
    assert.deepEqual(s.earlyTerminate, { type: 'asha', minSteps: 1, reductionFactor: 3 })
    assert.equal(s.runCap, 24)
    assert.equal(s.gridSize, undefined)
    assert.equal(s.maxConsecutiveFailures, 5)
    assert.equal(s.seed, 0)
    assert.equal(s.basePipeline.name, 'sst2-lora')
  })

  test('defaults: the name from the file, seed 42, five failures in a row, the goal from the metric', async () => {
    const s = await sweepOk(writeSweep(head.replace('eval_accuracy', 'eval_loss') + '  lora.r: { values: [4, 8] }\n'))
    assert.equal(s.name, 'sweep')
    assert.equal(s.seed, 42)
    assert.equal(s.maxConsecutiveFailures, 5)
    assert.equal(s.concurrency, undefined)
    assert.equal(s.earlyTerminate, undefined)
    assert.deepEqual(s.metric, { name: 'eval_loss', stage: 'finetune', key: 'loss', goal: 'minimize' })
    const t = await sweepOk(writeSweep(head.replace('{ name: eval_accuracy }', '{ name: eval_f1, goal: minimize, target: 0.1 }') + '  lora.r: { values: [4, 8] }\n'))
    assert.deepEqual(t.metric, { name: 'eval_f1', stage: 'finetune', key: 'f1', goal: 'minimize', target: 0.1 })
  })

  test('each kind of entry becomes its domain, as W&B reads it', async () => {
    const s = await sweepOk(
      writeSweep(
        head +
          [
            '  lora.r: { min: 2, max: 16 }',
            '  lora.dropout: { min: 0.0, max: 0.3 }',
            '  trainer.warmup_steps: { distribution: q_uniform, min: 0, max: 100, q: 25 }',
            '  trainer.weight_decay: { distribution: q_uniform, min: 0, max: 0.1, q: 0.02 }',
            '  trainer.batch_size: { distribution: q_log_uniform_values, min: 8, max: 64, q: 8 }',
            '  trainer.epochs: { distribution: constant, value: 1 }',
            '  lora.bias: { distribution: categorical, values: [none, all] }',
            '  lora.alpha: { distribution: int_uniform, min: 1, max: 32 }',
            '',
          ].join('\n'),
        ),
    )
    assert.deepEqual(Object.fromEntries(s.space.map((p) => [p.name, p.domain])), {
      'lora.r': { kind: 'int', low: 2, high: 16, log: false },
      // 0.3 is not whole, so a real range
      'lora.dropout': { kind: 'float', low: 0, high: 0.3, log: false },
      'trainer.warmup_steps': { kind: 'int', low: 0, high: 100, log: false, q: 25 },
      'trainer.weight_decay': { kind: 'float', low: 0, high: 0.1, log: false, q: 0.02 },
      'trainer.batch_size': { kind: 'int', low: 8, high: 64, log: true, q: 8 },
      'trainer.epochs': { kind: 'constant', value: 1 },
      'lora.bias': { kind: 'categorical', choices: ['none', 'all'] },
      'lora.alpha': { kind: 'int', low: 1, high: 32, log: false },
    })
  })

  test('a grid counts distinct combinations: a repeated value or bundle is one trial', async () => {
    const s = await sweepOk(
      writeSweep(
        head.replace('method: random', 'method: grid') +
          '  lora.r: { values: [4, 8, 4] }\n  lora.target_modules: { values: [[q_lin, v_lin], all-linear, [q_lin, v_lin]] }\n  pair:\n    together:\n      - { lora.alpha: 8, lora.dropout: 0.1 }\n      - { lora.dropout: 0.1, lora.alpha: 8 }\n      - { lora.alpha: 16, lora.dropout: 0 }\n  trainer.epochs: { value: 1 }\n',
      ),
    )
    assert.equal(s.gridSize, 2 * 2 * 2)
  })

  test('early_terminate: W&B\'s hyperband names are ours; median takes Optuna\'s defaults', async () => {
    const body = head + '  lora.r: { values: [4, 8] }\n'
    const w = await sweepOk(writeSweep(body + 'early_terminate: { type: hyperband, min_iter: 2, eta: 4, max_iter: 40 }\n'))
    assert.deepEqual(w.earlyTerminate, { type: 'asha', minSteps: 2, reductionFactor: 4, maxSteps: 40 })
    const m = await sweepOk(writeSweep(body + 'early_terminate: { type: median }\n'))
    assert.deepEqual(m.earlyTerminate, { type: 'median', warmupSteps: 0, startupTrials: 5, minTrials: 1 })
    const m2 = await sweepOk(writeSweep(body + 'early_terminate: { type: median, warmup_steps: 2, startup_trials: 3, min_trials: 2 }\nmax_consecutive_failures: 2\nconcurrency: 3\nseed: 9\n'))
    assert.deepEqual(m2.earlyTerminate, { type: 'median', warmupSteps: 2, startupTrials: 3, minTrials: 2 })
    assert.equal(m2.maxConsecutiveFailures, 2)
    assert.equal(m2.concurrency, 3)
    assert.equal(m2.seed, 9)
  })

  test('a multi-stage base: parameters under stages.<id>.with, the metric of the named stage', async () => {
    const multi = `name: two
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin, v_lin] }
dataset: { text_column: sentence, train: { path: train.tsv }, eval: { path: dev.tsv } }
trainer: { epochs: 1 }
stages:
  lora: { uses: finetune }
  full: { uses: finetune, with: { lora: null } }
`
    const sweep = 'base: ./base.yaml\nmethod: grid\nmetric: { name: lora.eval_f1 }\nparameters:\n  stages.lora.with.lora.r: { values: [4, 8] }\n  stages.full.with.trainer.learning_rate: { values: [1.0e-5] }\n  lora.alpha: { value: 32 }\n'
    const s = await sweepOk(writeSweep(sweep, { 'base.yaml': multi }))
    assert.deepEqual(s.metric, { name: 'lora.eval_f1', stage: 'lora', key: 'f1', goal: 'maximize' })
    assert.equal(s.gridSize, 2)
    const wrong = writeSweep(sweep.replace('stages.lora.with.lora.r', 'stages.lroa.with.lora.r').replace('stages.full.with.trainer.learning_rate', 'stages.full.with.trainer.learning_rat'), { 'base.yaml': multi })
    const { sweepError } = await import('./support.ts')
    const ds = (await sweepError(wrong)).diagnostics.map((d) => `${d.location?.line}:${d.location?.column} ${d.message} | ${d.hint}`)
    assert.deepEqual(ds, [
      '5:3 `stages.lroa.with.lora.r` is not a path of the base pipeline: the base pipeline has no stage `lroa` | did you mean `stages.lora.with.lora.r`?',
      '6:3 `stages.full.with.trainer.learning_rat` is not a path of the base pipeline: unknown key `learning_rat` in `stages.full.with.trainer` | did you mean `stages.full.with.trainer.learning_rate`?',
    ])
  })

  test('the fixture sweeps load (the tiny DistilBERT one validates without ../shared: paths are not opened)', async () => {
    const tiny = await sweepOk(join(repo, 'tests', 'fixtures', 'sweeps', 'tiny-grid.yaml'))
    assert.equal(tiny.gridSize, 4)
    assert.deepEqual(tiny.earlyTerminate, { type: 'asha', minSteps: 1, reductionFactor: 2 })
    // The bag-of-words ones sweep a custom stage's parameters, checked against its own schema.
    const grid = await sweepOk(join(repo, 'tests', 'fixtures', 'sweeps', 'bow-grid.yaml'))
    assert.equal(grid.gridSize, 4)
    assert.deepEqual(grid.metric, { name: 'train.eval_accuracy', stage: 'train', key: 'accuracy', goal: 'maximize' })
    const random = await sweepOk(join(repo, 'tests', 'fixtures', 'sweeps', 'bow-random.yaml'))
    assert.deepEqual(random.metric, { name: 'eval_loss', stage: 'train', key: 'loss', goal: 'minimize' })
    assert.deepEqual(random.earlyTerminate, { type: 'median', warmupSteps: 1, startupTrials: 2, minTrials: 1 })
  })
})
