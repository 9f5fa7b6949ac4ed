// `lorapipe validate` takes a sweep file as well as a pipeline: the same checks `lorapipe sweep`
// makes before its first trial, the same report, exit 2 when anything is wrong.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe } from './support/cli.ts'
import { repoRoot } from './support/shared.ts'

describe('lorapipe validate <sweep file>', () => {
  test('the seed sweep is valid; a sweep that would make an invalid pipeline is refused at the value, exit 2', () => {
    const ok = lorapipe(['validate', 'pipelines/sst2-sweep.yaml'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, 'pipelines/sst2-sweep.yaml is valid: sweep `sst2-sweep`, tpe over rank, trainer.learning_rate, lora.target_modules, up to 24 trials, maximize eval_accuracy, early termination asha; base pipeline `sst2-lora`\n')

    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-sweep-'))
    const file = join(dir, 'bad-sweep.yaml')
    writeFileSync(file, `base: ${join(repoRoot, 'pipelines', 'sst2-lora.yaml')}\nmethod: grid\nmetric: { name: eval_accuracy }\nparameters:\n  lora.r: { values: [0, 8] }\n`)
    const bad = lorapipe(['validate', file], { cwd: dir })
    assert.equal(bad.code, 2, bad.stderr)
    assert.equal(
      bad.stderr,
      [
        'bad-sweep.yaml:5:22: error: `lora.r` = 0 makes an invalid pipeline: `lora.r` must be >= 1, not 0 (at parameters.lora.r.values[0])',
        '  5 |   lora.r: { values: [0, 8] }',
        '    |                      ^',
        '1 error in bad-sweep.yaml',
        '',
      ].join('\n'),
    )
    const json = lorapipe(['validate', file, '--json', '--set', 'trainer.epochs=1'], { cwd: dir })
    assert.equal(json.code, 2)
    assert.deepEqual(JSON.parse(json.stdout), {
      valid: false,
      errors: [{ file: 'bad-sweep.yaml', line: 5, column: 22, pointer: '/parameters/lora.r/values/0', message: '`lora.r` = 0 makes an invalid pipeline: `lora.r` must be >= 1, not 0' }],
    })
  })
  test('a pipeline with a `uses: sweep` stage: validate and run check its sweep file first (exit 2 at the sweep file line, nothing written)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-sweep-stage-'))
    writeFileSync(join(dir, 'bad-sweep.yaml'), `base: ${join(repoRoot, 'pipelines', 'sst2-lora.yaml')}\nmethod: grid\nmetric: { name: eval_accuracy }\nparameters:\n  lora.r: { values: [0, 8] }\n`)
    writeFileSync(join(dir, 'p.yaml'), 'name: outer\nstages:\n  search:\n    uses: sweep\n    with:\n      sweep: ./bad-sweep.yaml\n')
    for (const args of [['validate', 'p.yaml'], ['run', 'p.yaml', '--out', 'run']]) {
      const r = lorapipe(args, { cwd: dir })
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /^bad-sweep\.yaml:5:22: error: stage `search`: `lora\.r` = 0 makes an invalid pipeline: `lora\.r` must be >= 1, not 0/)
    }
    assert.deepEqual(readdirSync(dir).sort(), ['bad-sweep.yaml', 'p.yaml'])
    writeFileSync(join(dir, 'bad-sweep.yaml'), `base: ${join(repoRoot, 'pipelines', 'sst2-lora.yaml')}\nmethod: grid\nmetric: { name: eval_accuracy }\nparameters:\n  lora.r: { values: [4, 8] }\n`)
    const ok = lorapipe(['validate', 'p.yaml'], { cwd: dir })
    assert.equal(ok.code, 0, ok.stderr)
  })
})
