// A trial's pipeline is the base with each of its values set at its path, as the object it is:
// what the trial runs holds exactly the values the sweep file holds, whatever their type.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import * as Effect from 'effect/Effect'
import type { Assignment } from '../../src/sweep/model.ts'
import { trialDocument, trialPipeline, type TrialSource } from '../../src/sweep/trial.ts'
import { head, sweepOk, writeSweep } from './file/support.ts'

const load = (sweep: TrialSource, a: Assignment) => Effect.runPromise(trialPipeline(sweep, a))

describe('trial pipelines', () => {
  test('lists, maps, number-like strings, null and bundles reach the trial exactly', async () => {
    const file = writeSweep(
      head +
        [
          '  lora.target_modules: { values: [[q_lin, v_lin], all-linear, "a,b"] }',
          '  vars.tag: { values: ["1234", "1e-4", "true", "null", "with space", "#hash", ""] }',
          '  lora.rank_pattern: { values: [{ q_lin: 4 }, { "layer.0": 2, v_lin: 8 }] }',
          '  lora.modules_to_save: { values: [null, [classifier]] }',
          '  trainer.learning_rate: { distribution: log_uniform_values, min: 1.0e-6, max: 1.0e-2 }',
          '  rank:',
          '    together:',
          '      - { lora.r: 4, lora.alpha: 8 }',
          '      - { lora.r: 16, lora.alpha: 0.5 }',
          '',
        ].join('\n'),
      // The base has a rank_pattern: a map value replaces it, it is not merged into it. `vars.*` has no
      // schema to type a value, so its strings must stay strings.
      { 'base.yaml': (await import('./file/support.ts')).base.replace('  target_modules: [q_lin, v_lin]', '  target_modules: [q_lin, v_lin]\n  rank_pattern: { k_lin: 2 }') },
    )
    const sweep = await sweepOk(file)
    const cases: [string, unknown][] = [
      ['lora.target_modules', ['q_lin', 'v_lin']],
      ['lora.target_modules', 'all-linear'],
      ['lora.target_modules', 'a,b'],
      ...['1234', '1e-4', 'true', 'null', 'with space', '#hash', ''].map((v): [string, unknown] => ['vars.tag', v]),
      ['lora.rank_pattern', { q_lin: 4 }],
      ['lora.rank_pattern', { 'layer.0': 2, v_lin: 8 }],
      ['lora.modules_to_save', null],
      ['lora.modules_to_save', ['classifier']],
      ['trainer.learning_rate', 1.2345678901234567e-5],
      ['trainer.learning_rate', 3e-3],
    ]
    const fixed = { 'lora.target_modules': 'all-linear', 'vars.tag': 'x', 'lora.rank_pattern': { q_lin: 1 }, 'lora.modules_to_save': null, 'trainer.learning_rate': 1e-4, rank: 0 }
    for (const [path, value] of cases) {
      const p = await load(sweep, { ...fixed, [path]: value })
      const [section, key] = path.split('.') as [string, string]
      assert.deepEqual((p.resolved[section] as Record<string, unknown>)[key], value, `${path} = ${JSON.stringify(value)}`)
    }
    const p = await load(sweep, { ...fixed, rank: 1 })
    assert.equal((p.resolved.lora as any).r, 16)
    assert.equal((p.resolved.lora as any).alpha, 0.5)
    assert.equal(typeof (p.resolved.vars as any).tag, 'string')
  })

  test('each value is set at its path as an object: lists as lists, a map replacing the base\'s, a bundle expanded', async () => {
    const sweep = await sweepOk(writeSweep(head + '  lora.target_modules: { values: [[q_lin, v_lin]] }\n  lora.rank_pattern: { value: { q_lin: 4 } }\n  rank:\n    together:\n      - { lora.r: 4, lora.alpha: 8 }\n'))
    const lora = (trialDocument(sweep, { 'lora.target_modules': ['q_lin', 'v_lin'], rank: 0 }).doc.value as any).lora
    assert.deepEqual([lora.target_modules, lora.rank_pattern, lora.r, lora.alpha], [['q_lin', 'v_lin'], { q_lin: 4 }, 4, 8])
  })

  test('command-line --set values are the base\'s, so a swept value wins over them', async () => {
    const file = writeSweep(head + '  lora.r: { values: [4, 8] }\n')
    const sweep = await sweepOk(file, { sets: ['trainer.epochs=2', 'lora.r=32'] })
    const p = await load(sweep, { 'lora.r': 8 })
    assert.equal((p.resolved.lora as any).r, 8)
    assert.equal((p.resolved.trainer as any).epochs, 2)
    assert.equal((sweep.basePipeline.resolved.lora as any).r, 32)
  })

  test('relative file paths among the values are relative to the sweep file, wherever the base is', async () => {
    const file = writeSweep(
      'base: ./pipelines/base.yaml\nmethod: grid\nmetric: { name: eval_accuracy }\nparameters:\n  model.path: { values: [./models/a, /abs/b] }\n  dataset.train: { value: { path: data/train.tsv, limit: 8 } }\n',
      { 'pipelines/base.yaml': (await import('./file/support.ts')).base },
    )
    const sweep = await sweepOk(file)
    assert.equal(sweep.base, join(dirname(file), 'pipelines', 'base.yaml'))
    const a = await load(sweep, { 'model.path': './models/a' })
    assert.equal((a.resolved.model as any).path, join(dirname(file), 'models', 'a'))
    // Also inside a map value; the other keys stay as written.
    assert.deepEqual((a.resolved.dataset as any).train, { path: join(dirname(file), 'data', 'train.tsv'), limit: 8 })
    const b = await load(sweep, { 'model.path': '/abs/b' })
    assert.equal((b.resolved.model as any).path, '/abs/b')
  })

  test('an assignment without a value for a parameter, or with a bundle that is not there, is a programming error', async () => {
    const sweep = await sweepOk(writeSweep(head + '  lora.r: { values: [4, 8] }\n  rank:\n    together:\n      - { lora.alpha: 8 }\n  trainer.epochs: { value: 1 }\n'))
    assert.throws(() => trialDocument(sweep, { rank: 0 }), /no value for parameter `lora\.r`/)
    assert.throws(() => trialDocument(sweep, { 'lora.r': 4, rank: 3 }), /`rank`: 3 is not the index of one of its 1 bundles/)
    // A constant may be left out: it has one value.
    const lora = (trialDocument(sweep, { 'lora.r': 4, rank: 0 }).doc.value as any)
    assert.deepEqual([lora.lora.r, lora.lora.alpha, lora.trainer.epochs], [4, 8, 1])
  })
})
