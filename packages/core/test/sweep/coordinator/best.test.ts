// best.yaml: the winning trial's resolved pipeline made to run from anywhere, validated first.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Effect from 'effect/Effect'
import { parse } from 'yaml'
import { absolutePaths, writeBestPipeline } from '../../../src/sweep/coordinator/best.ts'
import { loadOk, writeFiles } from '../../support.ts'

describe('best.yaml', () => {
  it('makes schema paths, stage modules and existing ./ ../ paths of custom stages absolute, and leaves the rest', () => {
    const base = writeFiles({ 'data/train.tsv': 'sentence\tlabel\n', 'stages/s.ts': '' })
    const doc = absolutePaths(
      {
        name: 'x',
        model: { path: 'models/tiny', id: 'distilbert-base-uncased' },
        dataset: { train: { path: './data/train.tsv' }, text_column: 'sentence' },
        lora: { target_modules: ['q_lin', 'v_lin'] },
        stages: {
          a: { uses: 'finetune', with: { model: { path: '../elsewhere' } } },
          b: { uses: './stages/s.ts', with: { train: './data/train.tsv', note: './not-there', label: 'label' } },
          c: { uses: 'evaluate', with: { adapter: '${stages.a.outputs.dir}/adapter' } },
        },
      },
      base,
    )
    assert.equal((doc.model as any).path, join(base, 'models/tiny'))
    assert.equal((doc.model as any).id, 'distilbert-base-uncased')
    assert.equal((doc.dataset as any).train.path, join(base, 'data/train.tsv'))
    assert.deepEqual((doc.lora as any).target_modules, ['q_lin', 'v_lin'])
    const st = doc.stages as any
    assert.equal(st.a.uses, 'finetune')
    assert.equal(st.a.with.model.path, join(base, '..', 'elsewhere'))
    assert.equal(st.b.uses, join(base, 'stages/s.ts'))
    assert.equal(st.b.with.train, join(base, 'data/train.tsv'))
    assert.equal(st.b.with.note, './not-there', 'a ./ string that names nothing is not taken for a path')
    assert.equal(st.c.with.adapter, '${stages.a.outputs.dir}/adapter', 'stage references stay')
  })

  it('writes a pipeline that validates from another folder, without the trial\'s output.dir', async () => {
    const base = writeFiles({
      'data/train.tsv': 'sentence\tlabel\ngood\t1\nbad\t0\n',
      'stages/count.ts': `import { defineStage } from '${join(process.cwd(), 'packages/core/src/index.ts')}'\nimport * as Schema from 'effect/Schema'\nexport default defineStage({ name: 'count', params: Schema.Struct({ file: Schema.String }), outputs: [], run: async () => ({}) })\n`,
    })
    const trial = join(base, 'sweep', 'trials', '0003')
    mkdirSync(trial, { recursive: true })
    writeFileSync(join(trial, 'config.resolved.yaml'), `# resolved\nname: x\nseed: 1\noutput: { dir: runs/fixed }\nstages:\n  s:\n    uses: ./stages/count.ts\n    with: { file: ./data/train.tsv }\n`)
    const r = await Effect.runPromise(writeBestPipeline({ trial: 3, runDir: trial, baseDir: base, metric: 'eval_accuracy', value: 0.9, sweepDir: join(base, 'sweep') }))
    assert.ok('file' in r, JSON.stringify(r))
    const text = readFileSync(r.file, 'utf8')
    assert.match(text, /^# The best trial \(3, eval_accuracy 0\.9\)/)
    const doc = parse(text)
    assert.equal(doc.output, undefined)
    assert.equal(doc.stages.s.with.file, join(base, 'data/train.tsv'))
    const p = await loadOk(r.file)
    assert.equal(p.stages.get('s')!.module?.path, join(base, 'stages/count.ts'))
  })
})
