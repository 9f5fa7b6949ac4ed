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

  test("a sweep file's every problem in one pass, each at file:line with the pipeline's name hints (Axolotl, transformers, W&B); validate and sweep alike, exit 2", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-sweep-guide-'))
    const sweep = [
      `base: ${join(repoRoot, 'pipelines', 'sst2-lora.yaml')}`,
      'method: bayes',
      'metric: { name: eval_acc }',
      'run_cap: 4',
      'parameters:',
      '  lora_r: { values: [4, 8] }',
      '  learning_rate: { distribution: log_uniform, min: -9, max: -4 }',
      '  r: { values: [4] }',
      '  trainer.num_train_epochs: { values: [1, 2] }',
      '  lora.alpha: { values: [0, 16] }',
      'early_terminate: { type: asha, min_steps: 2, max_steps: 1, reduction_fator: 2 }',
      '',
    ].join('\n')
    writeFileSync(join(dir, 'sweep.yaml'), sweep)
    const expected: [string, string | undefined][] = [
      ['sweep.yaml:2:9: error: `method` must be one of `grid`, `random`, `tpe`, `gp`, not the string "bayes"', "W&B's `bayes` is Bayesian optimisation with a Gaussian process: write `method: gp` (or `method: tpe`, faster per trial)"],
      ['sweep.yaml:3:17: error: unknown metric `eval_acc`', 'did you mean `eval_accuracy`?'],
      ['sweep.yaml:6:3: error: `lora_r` is not a path of the base pipeline', "`lora_r` is Axolotl's name; here it is `lora.r`"],
      ['sweep.yaml:7:3: error: `learning_rate` is not a path of the base pipeline', '`learning_rate` belongs in `trainer`: `trainer.learning_rate`'],
      ['sweep.yaml:7:34: error: `parameters.learning_rate.distribution` must be one of', "W&B's `log_uniform` takes min and max as exponents of e; use `log_uniform_values` with the values themselves (`min: 1.0e-5, max: 1.0e-3`)"],
      ['sweep.yaml:8:3: error: `r` is not a path of the base pipeline', '`r` belongs in `lora`: `lora.r`'],
      ['sweep.yaml:9:3: error: `trainer.num_train_epochs` is not a path of the base pipeline', "`num_train_epochs` is transformers' name; here it is `trainer.epochs`"],
      ['sweep.yaml:10:26: error: `lora.alpha` = 0 makes an invalid pipeline: `lora.alpha` must be > 0, not 0', undefined],
      ['sweep.yaml:11:57: error: `max_steps` (1) must be greater than `min_steps` (2), or there is no rung', undefined],
      ['sweep.yaml:11:60: error: unknown key `reduction_fator` in `early_terminate`', 'did you mean `reduction_factor`?'],
    ]
    for (const args of [['validate', 'sweep.yaml'], ['sweep', 'sweep.yaml', '--out', 'out']]) {
      const r = lorapipe(args, { cwd: dir })
      assert.equal(r.code, 2, r.stderr)
      const lines = r.stderr.split('\n')
      const errors = lines.filter((l) => l.includes(': error: '))
      assert.equal(errors.length, expected.length, r.stderr)
      expected.forEach(([error, hint], i) => {
        assert.ok(errors[i]!.startsWith(error), `${args[0]}: expected ${error}\ngot ${errors[i]}`)
        const next = lines[lines.indexOf(errors[i]!) + 1]!
        if (hint) assert.equal(next, `  hint: ${hint}`)
        else assert.ok(!next.startsWith('  hint:'), next)
      })
      assert.match(r.stderr, /\n10 errors in sweep\.yaml\n/)
    }
    assert.deepEqual(readdirSync(dir), ['sweep.yaml'])
  })

  test('an override that another setting shadows is a warning (exit unchanged) from validate, run and sweep: epochs under max_steps, warmup_ratio under warmup_steps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-shadowed-'))
    const pipeline = join(repoRoot, 'pipelines', 'sst2-lora.yaml')
    writeFileSync(join(dir, 'afile'), '')
    const sets = ['--set', 'trainer.max_steps=10', '--set', 'trainer.epochs=5', '--set', 'trainer.warmup_steps=3', '--set', 'trainer.warmup_ratio=0.1']
    const warned = [
      "--set trainer.epochs=5: warning: `--set trainer.epochs=5` has no effect: `trainer.max_steps` is 10 (max_steps overrides epochs, as transformers' max_steps overrides num_train_epochs)",
      '  hint: set `trainer.max_steps` instead, or remove it to train by epochs',
      '--set trainer.warmup_ratio=0.1: warning: `--set trainer.warmup_ratio=0.1` has no effect: `trainer.warmup_steps` is 3 (warmup_steps > 0 wins over warmup_ratio, as in transformers)',
      '  hint: set `trainer.warmup_steps` instead, or set it to 0 to use the ratio',
      '',
    ].join('\n')
    const ok = lorapipe(['validate', pipeline, ...sets], { cwd: dir })
    assert.equal(ok.code, 0, ok.stderr)
    assert.ok(ok.stderr.startsWith(warned), ok.stderr)
    assert.match(ok.stdout, /is valid: pipeline `sst2-lora`/)
    // run says it before anything else (here it is then refused for its --out, a file).
    const run = lorapipe(['run', pipeline, ...sets, '--out', 'afile'], { cwd: dir })
    assert.equal(run.code, 2)
    assert.ok(run.stderr.startsWith(warned), run.stderr)

    writeFileSync(join(dir, 'sweep.yaml'), `base: ${pipeline}\nmethod: grid\nmetric: { name: eval_accuracy }\nparameters:\n  trainer.epochs: { values: [1, 2] }\n  trainer.learning_rate: { values: [1.0e-4] }\n`)
    const atLine = [
      "sweep.yaml:5:3: warning: sweep parameter `trainer.epochs` has no effect: `trainer.max_steps` is 10 (max_steps overrides epochs, as transformers' max_steps overrides num_train_epochs) (at parameters.trainer.epochs)",
      '  hint: set `trainer.max_steps` instead, or remove it to train by epochs',
      '  5 |   trainer.epochs: { values: [1, 2] }',
      '    |   ^',
      '',
    ].join('\n')
    const sweep = lorapipe(['validate', 'sweep.yaml', '--set', 'trainer.max_steps=10'], { cwd: dir })
    assert.equal(sweep.code, 0, sweep.stderr)
    assert.equal(sweep.stderr, atLine)
    const json = lorapipe(['validate', 'sweep.yaml', '--set', 'trainer.max_steps=10', '--json'], { cwd: dir })
    assert.equal(json.code, 0)
    assert.deepEqual(JSON.parse(json.stdout).warnings.map((w: { line: number; pointer: string }) => [w.line, w.pointer]), [[5, '/parameters/trainer.epochs']])
    const started = lorapipe(['sweep', 'sweep.yaml', '--set', 'trainer.max_steps=10', '--out', 'afile'], { cwd: dir })
    assert.equal(started.code, 2)
    assert.ok(started.stderr.startsWith(atLine), started.stderr)
    // A parameter that varies max_steps too makes epochs count in some trials: no warning.
    writeFileSync(join(dir, 'both.yaml'), `base: ${pipeline}\nmethod: grid\nmetric: { name: eval_accuracy }\nparameters:\n  trainer.epochs: { values: [1, 2] }\n  trainer.max_steps: { values: [5, 10] }\n`)
    const both = lorapipe(['validate', 'both.yaml', '--set', 'trainer.max_steps=10'], { cwd: dir })
    assert.equal(both.code, 0, both.stderr)
    assert.equal(both.stderr, '')
  })
})
