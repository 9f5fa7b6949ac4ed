// A bad sweep file is refused with every problem at once, each at file:line:column with what is
// wrong and, for names, the closest valid one, as pipelines are; nothing runs.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { formatDiagnostics } from '../../../src/diagnostics.ts'
import { sweepTextsOf } from '../../../src/sweep/file/types.ts'
import { at, errorsOf, head, sweepError, sweepOk, writeSweep } from './support.ts'

describe('sweep file errors', () => {
  test('YAML syntax errors and a file that is not a map point at the place', async () => {
    const syntax = await errorsOf('base: ./base.yaml\nparameters:\n  lora.r: {values: [4, 8}\n')
    assert.match(syntax[0]!.message, /YAML syntax error/)
    assert.equal(syntax[0]!.location?.line, 3)
    assert.deepEqual(at(await errorsOf('- just\n- a list\n')), ['1:1 a sweep file must be a YAML map (keys `base`, `method`, `metric`, `parameters`)'])
  })

  test('a missing file names the path', async () => {
    const e = await sweepError('/nonexistent/sweep.yaml')
    assert.equal(e._tag, 'SweepInvalid')
    assert.match(e.diagnostics[0]!.message, /file not found/)
  })

  test('unknown keys get the closest valid key at the key itself, all at once', async () => {
    const ds = await errorsOf(`${head}  lora.r: { values: [4, 8] }\nruncap: 3\nearly_terminate: { type: asha, min_steps: 1, reduction_fator: 2 }\n`)
    assert.deepEqual(at(ds), [
      '7:1 unknown key `runcap` | did you mean `run_cap`?',
      '8:46 unknown key `reduction_fator` in `early_terminate` | did you mean `reduction_factor`?',
    ])
  })

  test('missing required keys are named', async () => {
    const ds = await errorsOf('base: ./base.yaml\nparameters:\n  lora.r: { values: [4, 8] }\n')
    assert.deepEqual(at(ds).sort(), ['1:1 missing required key `method`', '1:1 missing required key `metric`'])
  })

  test('a bad method or goal lists the choices and suggests the closest', async () => {
    const ds = await errorsOf(head.replace('method: random', 'method: gird').replace('{ name: eval_accuracy }', '{ name: eval_accuracy, goal: maximise }') + '  lora.r: { values: [4, 8] }\n')
    assert.deepEqual(at(ds), [
      '2:9 `method` must be one of `grid`, `random`, `tpe`, `gp`, not the string "gird" | did you mean `grid`?',
      '3:38 `metric.goal` must be one of `minimize`, `maximize`, not the string "maximise" | did you mean `maximize`?',
    ])
  })

  test("W&B's `bayes` method says to write `gp`", async () => {
    const ds = await errorsOf(head.replace('method: random', 'method: bayes') + '  lora.r: { values: [4, 8] }\n')
    assert.deepEqual(at(ds), ['2:9 `method` must be one of `grid`, `random`, `tpe`, `gp`, not the string "bayes" | W&B\'s `bayes` is Bayesian optimisation with a Gaussian process: write `method: gp` (or `method: tpe`, faster per trial)'])
  })

  test('a gp sweep, as random and tpe, needs a run_cap', async () => {
    const ds = await errorsOf(head.replace('method: random', 'method: gp').replace(/run_cap: \d+\n/, '') + '  lora.r: { values: [4, 8] }\n')
    assert.deepEqual(at(ds).map((x) => x.replace(/^\d+:\d+ /, '')), ['a gp sweep needs `run_cap` (how many trials to run) | e.g. `run_cap: 20`; the search only stops by itself when a grid is done'])
  })

  test('an unknown distribution lists the ones there are; W&B names we do not take say what to write', async () => {
    const ds = await errorsOf(`${head}  lora.r: { distribution: int_unifrom, min: 2, max: 16 }\n  trainer.learning_rate: { distribution: log_uniform, min: -9, max: -4 }\n`)
    assert.equal(ds.length, 2)
    assert.equal(at(ds)[0], '6:27 `parameters.lora.r.distribution` must be one of `constant`, `categorical`, `uniform`, `int_uniform`, `q_uniform`, `log_uniform_values`, `q_log_uniform_values`, not the string "int_unifrom" | did you mean `int_uniform`?')
    assert.match(at(ds)[1]!, /^7:42 .*"log_uniform" \| W&B's `log_uniform` takes min and max as exponents of e; use `log_uniform_values`/)
  })

  test('bounds: min above max, a log scale from zero, a step of zero, whole numbers for int_uniform, empty values', async () => {
    const ds = await errorsOf(
      head +
        [
          '  trainer.warmup_ratio: { distribution: uniform, min: 0.5, max: 0.1 }',
          '  trainer.learning_rate: { distribution: log_uniform_values, min: 0, max: 1.0e-3 }',
          '  trainer.weight_decay: { distribution: q_uniform, min: 0, max: 1, q: 0 }',
          '  lora.r: { distribution: int_uniform, min: 2.5, max: 16 }',
          '  lora.dropout: { values: [] }',
          '',
        ].join('\n'),
    )
    assert.deepEqual(at(ds), [
      '6:55 `min` (0.5) must be less than `max` (0.1) | swap them',
      '7:67 `log_uniform_values` needs `min` > 0, not 0 | a log scale starts above zero, e.g. `min: 1.0e-5`',
      '8:71 `q` must be > 0, not 0',
      '9:45 `int_uniform` needs whole-number bounds, not 2.5 | use `uniform` for real numbers',
      '10:27 `parameters.lora.dropout.values` must have at least 1 item',
    ])
  })

  test('keys that do not go together in one entry, and an entry that says nothing', async () => {
    const ds = await errorsOf(head + '  lora.r: { value: 8, values: [4, 8] }\n  lora.alpha: { values: [8, 16], min: 1 }\n  lora.dropout: { distribution: uniform, min: 0, max: 0.5, q: 0.1 }\n  trainer.epochs: {}\n')
    assert.deepEqual(at(ds), [
      '6:23 `values` cannot be given with `value` (a constant) | drop one: `value` fixes the parameter in every trial',
      '7:34 `min` cannot be given with `values` | a parameter is either a list of `values` or a range `min`/`max`',
      '8:60 `q` applies to `q_uniform` and `q_log_uniform_values`, not `uniform` | use `distribution: q_uniform` for steps of q',
      '9:19 `parameters.trainer.epochs` must have at least 1 entry',
    ])
  })

  test('a path that another tool names, or that belongs in another section, gets the pipeline validator\'s hint; checked even when the entry itself is wrong', async () => {
    const ds = await errorsOf(head + '  lora_r: { values: [4, 8] }\n  r: { values: [4] }\n  learning_rate: { distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3 }\n  trainer.num_train_epochs: { values: [1], min: 1 }\n  stages.x.with.lora.r: { value: 4 }\n')
    assert.deepEqual(at(ds), [
      "6:3 `lora_r` is not a path of the base pipeline: unknown key `lora_r` | `lora_r` is Axolotl's name; here it is `lora.r`",
      '7:3 `r` is not a path of the base pipeline: unknown key `r` | `r` belongs in `lora`: `lora.r`',
      '8:3 `learning_rate` is not a path of the base pipeline: unknown key `learning_rate` | `learning_rate` belongs in `trainer`: `trainer.learning_rate`',
      "9:3 `trainer.num_train_epochs` is not a path of the base pipeline: unknown key `num_train_epochs` in `trainer` | `num_train_epochs` is transformers' name; here it is `trainer.epochs`",
      '9:44 `min` cannot be given with `values` | a parameter is either a list of `values` or a range `min`/`max`',
      '10:3 `stages.x.with.lora.r` is not a path of the base pipeline: `stages.x.with.lora.r` names a stage, but the base pipeline is a single job without `stages:` | name the key directly: `lora.r`',
    ])
  })

  test('a pipeline path the base does not have is an error at the parameter, with the closest path', async () => {
    const ds = await errorsOf(head + '  lora.rr: { values: [4, 8] }\n  trainer.learning_rte: { values: [1.0e-4] }\n  traner.epochs: { value: 1 }\n  lora.r.x: { value: 1 }\n')
    assert.deepEqual(at(ds), [
      '6:3 `lora.rr` is not a path of the base pipeline: unknown key `rr` in `lora` | did you mean `lora.r`?',
      '7:3 `trainer.learning_rte` is not a path of the base pipeline: unknown key `learning_rte` in `trainer` | did you mean `trainer.learning_rate`?',
      '8:3 `traner.epochs` is not a path of the base pipeline: unknown key `traner` | did you mean `trainer.epochs`?',
      '9:3 `lora.r.x` is not a path of the base pipeline: `lora.r` holds a single value, it has no key `x` | sweep `lora.r` itself',
    ])
  })

  test('a path inside a together bundle is checked at its key in the first bundle', async () => {
    const ds = await errorsOf(head + '  rank:\n    together:\n      - { lora.r: 4, lora.alfa: 8 }\n      - { lora.r: 8, lora.alfa: 16 }\n')
    assert.deepEqual(at(ds), ['8:22 `lora.alfa` is not a path of the base pipeline: unknown key `alfa` in `lora` | did you mean `lora.alpha`?'])
  })

  test('bundles that set different paths, and a path set by two parameters', async () => {
    const ds = await errorsOf(head + '  rank:\n    together:\n      - { lora.r: 4, lora.alpha: 8 }\n      - { lora.r: 8 }\n')
    assert.deepEqual(at(ds), ['9:9 every bundle of `rank` must set the same paths as the first (`lora.r`, `lora.alpha`); this one lacks `lora.alpha`'])
    const ds2 = await errorsOf(head + '  rank:\n    together:\n      - { lora.r: 4, lora.alpha: 8 }\n  lora.r: { values: [2] }\n  lora: { value: { target_modules: [q_lin] } }\n')
    assert.deepEqual(at(ds2), [
      '9:3 `lora.r` is also set by parameter `rank` | each pipeline path may be set by one parameter; put values that change together in one `together` bundle',
      '10:3 `lora` contains `lora.r`, set by parameter `lora.r` | each pipeline path may be set by one parameter; put values that change together in one `together` bundle',
      '10:3 `lora` contains `lora.alpha`, set by parameter `rank` | each pipeline path may be set by one parameter; put values that change together in one `together` bundle',
    ])
  })

  test('the metric must be one the trials report, of a stage that evaluates', async () => {
    const unknown = await errorsOf(head.replace('eval_accuracy', 'accuracy') + '  lora.r: { values: [4, 8] }\n')
    assert.deepEqual(at(unknown), ['3:17 unknown metric `accuracy` | did you mean `eval_accuracy`?'])
    const multi = `name: two
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin, v_lin] }
dataset: { text_column: sentence, train: { path: train.tsv }, eval: { path: dev.tsv } }
trainer: { epochs: 1 }
stages:
  lora: { uses: finetune }
  full: { uses: finetune, with: { lora: null } }
  compare: { uses: compare, with: { runs: { a: "\${stages.lora.outputs.metrics}" } } }
`
    const sweep = (metric: string) => head.replace('eval_accuracy', metric) + '  lora.r: { values: [4, 8] }\n'
    assert.deepEqual(at(await errorsOf(sweep('eval_accuracy'), { 'base.yaml': multi })), [
      '3:17 the base pipeline has several stages that evaluate (lora, full); the metric must name one | e.g. `lora.eval_accuracy`',
    ])
    assert.deepEqual(at(await errorsOf(sweep('lroa.eval_accuracy'), { 'base.yaml': multi })), ['3:17 the base pipeline has no stage `lroa` | did you mean `lora`?'])
    assert.deepEqual(at(await errorsOf(sweep('compare.eval_accuracy'), { 'base.yaml': multi })), [
      '3:17 stage `compare` (compare) reports no evaluations, so it has no `eval_accuracy` | stages that evaluate: lora, full',
    ])
  })

  test('random and TPE need run_cap; a grid needs lists of values', async () => {
    assert.deepEqual(at(await errorsOf(head.replace('run_cap: 4\n', '') + '  lora.r: { values: [4, 8] }\n')), [
      '1:1 a random sweep needs `run_cap` (how many trials to run) | e.g. `run_cap: 20`; the search only stops by itself when a grid is done',
    ])
    assert.deepEqual(at(await errorsOf(head.replace('method: random', 'method: grid') + '  lora.r: { min: 2, max: 16 }\n')), [
      '6:3 a grid needs a list of values, but `lora.r` is a whole-number range | give `values: [...]`, or use `method: random`, `method: tpe` or `method: gp`',
    ])
  })

  test('a sweep runs at most 1,000,000 trials: a larger run_cap or grid is refused at its line with the count, the limit and what to do', async () => {
    // Past 2^53 the count is still exact, and the run_cap is shown as written (a number rounds it).
    assert.deepEqual(at(await errorsOf(head.replace('run_cap: 4', 'run_cap: 9007199254740993') + '  lora.r: { values: [4, 8] }\n')), [
      '4:10 `run_cap` is 9007199254740993 trials, more than a sweep may run (1,000,000 trials) | give a `run_cap` of at most 1,000,000 trials',
    ])
    assert.deepEqual(at(await errorsOf(head.replace('run_cap: 4', 'run_cap: 1000001') + '  lora.r: { values: [4, 8] }\n')), [
      '4:10 `run_cap` is 1,000,001 trials, more than a sweep may run (1,000,000 trials) | give a `run_cap` of at most 1,000,000 trials',
    ])
    // Twelve lists of 10 values: 10^12 combinations.
    const paths = ['lora.r', 'lora.alpha', 'seed', 'dataset.train.limit', 'dataset.eval.limit', 'trainer.max_steps', 'trainer.batch_size', 'trainer.eval_batch_size', 'trainer.warmup_steps', 'trainer.gradient_accumulation_steps', 'trainer.eval_every', 'trainer.log_every']
    const list = (n: number) => `{ values: [${Array.from({ length: n }, (_, i) => i + 1).join(', ')}] }`
    const grid = (sizes: number[]) => head.replace('method: random', 'method: grid').replace('run_cap: 4\n', '') + sizes.map((n, i) => `  ${paths[i]}: ${list(n)}\n`).join('')
    const twelve = Array<number>(12).fill(10)
    assert.deepEqual(at(await errorsOf(grid(twelve))), [
      `4:1 the grid has 1,000,000,000,000 combinations (${twelve.join(' x ')}), more than a sweep may run (1,000,000 trials) | use \`method: random\`, \`tpe\` or \`gp\` with a \`run_cap\`, give fewer values, or add a \`run_cap\` to run only the first combinations`,
    ])
    // A run_cap makes a large grid run only its first combinations; up to the limit, a grid needs none.
    const capped = await sweepOk(writeSweep(grid(twelve).replace('parameters:', 'run_cap: 3\nparameters:')))
    assert.equal(capped.runCap, 3)
    assert.equal(capped.gridSize, 1e12)
    assert.equal((await sweepOk(writeSweep(grid([10, 10, 10, 10, 10, 10])))).gridSize, 1_000_000)
    assert.match(at(await errorsOf(grid([10, 10, 10, 10, 10, 10, 2])))[0]!, /^4:1 the grid has 2,000,000 combinations/)
  })

  test('early_terminate: asha needs min_steps, keys of the other type are wrong, W&B names are one with ours', async () => {
    const ds = await errorsOf(`${head}  lora.r: { values: [4, 8] }\nearly_terminate: { type: asha, eta: 3, reduction_factor: 2, warmup_steps: 2 }\n`)
    assert.deepEqual(at(ds), [
      '7:20 `type: asha` needs `min_steps`: the evaluations before the first rung | e.g. `min_steps: 1` (rungs at 1, 3, 9 ... evaluations with reduction_factor 3)',
      '7:32 `eta` is W&B\'s name for `reduction_factor`; give one of them',
      '7:61 `warmup_steps` is a setting of `type: median`, not of `type: asha`',
    ])
    const s = await errorsOf(`${head}  lora.r: { values: [4, 8] }\nearly_terminate: { type: hyperband, min_iter: 3, s: 2 }\n`)
    assert.deepEqual(at(s), ['7:50 unknown key `s` in `early_terminate` | W&B\'s `s` (number of hyperband brackets) is not supported: lorapipe runs one bracket of asynchronous successive halving'])
  })

  test('W&B keys lorapipe does not use say what to write instead', async () => {
    const ds = await errorsOf(`program: train.py\n${head}  lora.r: { values: [4, 8] }\n`)
    assert.deepEqual(at(ds), ['1:1 unknown key `program` | lorapipe runs a pipeline, not a script: name it with `base: ./pipeline.yaml`'])
  })

  test('an invalid base pipeline is reported with its own errors, in its own file', async () => {
    const ds = await errorsOf(`${head}  lora.r: { values: [4, 8] }\n`, { 'base.yaml': 'name: b\nmodel: { path: ./m, num_labels: 2 }\nlora: { target_modules: [q_lin], r: 0 }\ndataset: { train: { path: t.tsv } }\ntrainer: { epochs: 0 }\n' })
    const lines = ds.map((d) => `${d.location?.file.split('/').pop()}:${d.location?.line}:${d.location?.column} ${d.message}`)
    assert.ok(lines.includes('sweep.yaml:1:7 the base pipeline ./base.yaml is invalid (2 errors below)'), lines.join('\n'))
    assert.ok(lines.includes('base.yaml:3:37 `lora.r` must be >= 1, not 0'), lines.join('\n'))
    assert.ok(lines.includes('base.yaml:5:20 `trainer.epochs` must be > 0, not 0'), lines.join('\n'))
    // Paths outside `stages` are checked against the pipeline schema all the same, in the same pass.
    const both = await errorsOf(`${head}  lora_r: { values: [4, 8] }\n`, { 'base.yaml': 'name: b\nmodel: { path: ./m, num_labels: 2 }\nlora: { target_modules: [q_lin], r: 0 }\ndataset: { train: { path: t.tsv } }\n' })
    assert.ok(at(both).includes("6:3 `lora_r` is not a path of the base pipeline: unknown key `lora_r` | `lora_r` is Axolotl's name; here it is `lora.r`"), at(both).join('\n'))
    const missing = await errorsOf(`${head}  lora.r: { values: [4, 8] }\n`.replace('./base.yaml', './nope.yaml'))
    assert.equal(missing.length, 1)
    assert.match(at(missing)[0]!, /^1:7 base pipeline \.\/nope\.yaml not found \(looked for .*nope\.yaml\) \| the base is relative to the sweep file$/)
  })

  test('--set arguments for the base are validated with it', async () => {
    const ds = await errorsOf(`${head}  lora.r: { values: [4, 8] }\n`, {}, { sets: ['trainer.learning_rte=1'] })
    assert.ok(ds.some((d) => d.location?.file === '--set trainer.learning_rte=1' && /unknown key `learning_rte`/.test(d.message) && d.hint === 'did you mean `learning_rate`?'), at(ds).join('\n'))
  })

  test('the report shows a code frame from the sweep file', async () => {
    const e = await sweepError(writeSweep(`${head}  lora.rr: { values: [4, 8] }\n`))
    const text = formatDiagnostics(e.diagnostics, sweepTextsOf(e))
    assert.match(text, /sweep\.yaml:6:3: error: `lora\.rr` is not a path of the base pipeline/)
    assert.match(text, /\n  6 \|   lora\.rr: \{ values: \[4, 8\] \}\n    \|   \^/)
    assert.match(text, /1 error$/)
  })
})
