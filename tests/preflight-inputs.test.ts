// Every input a run names is checked in the one preflight, before anything is written: the BLAS
// library (`runtime.blas` or LORAPIPE_BLAS) and the backend, a tokenizer folder, the adapter
// `lora.init_from` starts from, and, for sweeps, each parameter value that names a file or folder.
// `run` refuses them with exit 2 and no run folder; `validate` and `sweep` say the same.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, lorapipeAsync } from './support/cli.ts'
import { needsShared, repoRoot, shared } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-inputs-'))
// The seed pipeline's model and data come from the hub: an empty cache, offline, so that nothing is
// downloaded whatever happens (the inputs under test are all local).
const offline = (dir: string, env: Record<string, string> = {}) => ({ HF_HUB_CACHE: join(dir, 'hub-cache'), HF_HUB_OFFLINE: '1', LORAPIPE_BLAS: '', LORAPIPE_BACKEND: '', ...env })

/** A pipeline over the seed recipe with `body` added. */
function pipeline(dir: string, body: string): string {
  const file = join(dir, 'p.yaml')
  writeFileSync(file, `extends: ${join(repoRoot, 'pipelines', 'sst2-lora.yaml')}\nname: inputs\n${body}`)
  return file
}

/** `validate` and `run` (side by side) refuse the pipeline alike: exit 2, the same first line, and no run folder. */
async function refusedByBoth(dir: string, file: string, env: Record<string, string>): Promise<{ first: string; stderr: string }> {
  const out = join(dir, 'run')
  const [v, r] = await Promise.all([lorapipeAsync(['validate', file], { cwd: dir, env }), lorapipeAsync(['run', file, '--out', out, '--quiet'], { cwd: dir, env })])
  assert.equal(v.code, 2, v.stdout + v.stderr)
  assert.equal(r.code, 2, r.stdout + r.stderr)
  assert.equal(r.stderr.split('\n')[0], v.stderr.split('\n')[0], 'run and validate say the same')
  assert.match(r.stderr, /nothing was run or written/)
  assert.equal(existsSync(out), false, 'no run folder')
  return { first: v.stderr.split('\n')[0]!, stderr: v.stderr }
}

const setUp = tmp

describe('the BLAS library asked for is checked before anything is written', () => {
  const hint = (where: string) => `  hint: give the path of a library that has cblas_sgemm (e.g. /usr/lib/x86_64-linux-gnu/libopenblas.so.0), or set ${where} to auto or off`

  for (const [what, value, why] of [
    ['a path that does not exist', '/nonexistent/libopenblas.so.0', () => '/nonexistent/libopenblas.so.0 does not exist'],
    ['a file that is not a library', '/etc/passwd', () => '/etc/passwd: '],
    ['a folder', '<dir>', (dir: string) => `${dir} is a folder, not a library file`],
  ] as const) {
    test(`LORAPIPE_BLAS naming ${what}: exit 2 at the variable, from run and validate, no run folder`, async () => {
      const dir = setUp()
      const lib = value === '<dir>' ? dir : value
      const file = pipeline(dir, '')
      const { first, stderr } = await refusedByBoth(dir, file, offline(dir, { LORAPIPE_BLAS: lib }))
      assert.ok(first.startsWith(`LORAPIPE_BLAS=${lib}: error: BLAS library '${lib}' requested by LORAPIPE_BLAS could not be used: ${why(dir)}`), first)
      assert.ok(stderr.includes(hint('LORAPIPE_BLAS')), stderr)
    })

    test(`runtime.blas naming ${what}: exit 2 at its line in the pipeline, from run and validate, no run folder`, async () => {
      const dir = setUp()
      const lib = value === '<dir>' ? dir : value
      const file = pipeline(dir, `runtime:\n  blas: ${lib}\n`)
      const { first, stderr } = await refusedByBoth(dir, file, offline(dir))
      assert.ok(first.startsWith(`p.yaml:4:9: error: BLAS library '${lib}' requested by runtime.blas could not be used: ${why(dir)}`), first)
      assert.match(first, /\(at runtime\.blas\)$/)
      assert.ok(stderr.includes(hint('runtime.blas')), stderr)
    })
  }

  test('`auto` and `off` are never refused, whatever the machine has', async () => {
    const results = await Promise.all(
      ['auto', 'off'].map((blas) => {
        const dir = setUp()
        return lorapipeAsync(['validate', pipeline(dir, `runtime: { blas: ${blas} }\n`)], { cwd: dir, env: offline(dir) })
      }),
    )
    for (const r of results) assert.equal(r.code, 0, r.stderr)
  })

  const nativeInstalled = (() => {
    try {
      createRequire(join(repoRoot, 'packages', 'runner', 'package.json')).resolve('@tensorflow/tfjs-node')
      return 'skipped: @tensorflow/tfjs-node is installed here'
    } catch {
      return false
    }
  })()
  test('a backend that is unknown or not installed is refused the same way', { skip: nativeInstalled }, async () => {
    const dir = setUp()
    const file = pipeline(dir, '')
    const unknown = await refusedByBoth(dir, file, offline(dir, { LORAPIPE_BACKEND: 'tpu' }))
    assert.equal(unknown.first, "LORAPIPE_BACKEND=tpu: error: unknown backend 'tpu' in LORAPIPE_BACKEND")
    const missing = lorapipe(['validate', pipeline(dir, 'runtime: { backend: tfjs-node }\n')], { cwd: dir, env: offline(dir) })
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /^p\.yaml:3:21: error: backend 'tfjs-node' requested by runtime\.backend is not available: tfjs-node not installed \(at runtime\.backend\)\n  hint: install it with `npm install @tensorflow\/tfjs-node`/)
  })
})

describe('folders the stages read are checked before anything is written', () => {
  test('a tokenizer.path folder without a tokenizer: exit 2 at tokenizer.path, no run folder', async () => {
    const dir = setUp()
    mkdirSync(join(dir, 'tok'))
    writeFileSync(join(dir, 'tok', 'README.md'), 'not a tokenizer\n')
    const file = pipeline(dir, 'tokenizer:\n  path: ./tok\n')
    const { first, stderr } = await refusedByBoth(dir, file, offline(dir))
    assert.equal(first, `p.yaml:4:9: error: tokenizer.path ${join(dir, 'tok')}: no tokenizer found; expected tokenizer.json, or vocab.txt (with tokenizer_config.json) for a BERT-style WordPiece tokenizer (at tokenizer.path)`)
    assert.match(stderr, /hint: name a folder with tokenizer\.json, or vocab\.txt/)
  })

  test('a lora.init_from folder without an adapter: exit 2 at lora.init_from, no run folder', async () => {
    const dir = setUp()
    mkdirSync(join(dir, 'not-an-adapter'))
    writeFileSync(join(dir, 'not-an-adapter', 'config.json'), '{}\n')
    const file = pipeline(dir, 'lora:\n  init_from: ./not-an-adapter\n')
    const { first, stderr } = await refusedByBoth(dir, file, offline(dir))
    assert.equal(first, `p.yaml:4:14: error: lora.init_from ${join(dir, 'not-an-adapter')} is not a PEFT adapter folder: no adapter_config.json and no adapter_model.safetensors (at lora.init_from)`)
    assert.match(stderr, /hint: train from an adapter made for this model/)
  })

  test('a lora.init_from adapter made for another model is refused with what does not fit', { skip: needsShared }, () => {
    const dir = setUp()
    const r = lorapipe(['validate', join(repoRoot, 'tests', 'fixtures', 'sweeps', 'tiny-base.yaml'), '--set', `lora.init_from=${shared('fixtures', 'golden', 'bert-lora-adapter')}`], { cwd: dir, env: offline(dir) })
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.match(r.stderr, /^--set lora\.init_from=\S+: error: lora\.init_from \S+bert-lora-adapter: adapter does not fit the model: unexpected keys .*bert\.encoder\.layer\.0\.attention\.self\.query\.lora_A\.weight.*; missing LoRA weights: distilbert\.transformer\.layer\.0\.attention\.q_lin\.lora_A\.weight/m)
  })
})

describe('a sweep parameter that names files is checked value by value when the sweep is validated', () => {
  function paths(dir: string): string {
    const file = join(dir, 'sweep.yaml')
    writeFileSync(
      file,
      [
        'name: paths',
        `base: ${join(repoRoot, 'tests', 'fixtures', 'sweeps', 'tiny-base.yaml')}`,
        'method: grid',
        'metric: { name: eval_accuracy }',
        'parameters:',
        `  model.path: { values: [/etc, ${shared('fixtures', 'tiny-distilbert')}] }`,
        `  dataset.train.path: { values: [./missing.tsv, ${shared('data', 'sst2', 'train.tsv')}] }`,
        '  trainer.learning_rate: { values: [1.0e-3, 1.0e-4] }',
        '',
      ].join('\n'),
    )
    return file
  }
  const modelLine = /^sweep\.yaml:6:26: error: (stage `search`: )?`model\.path` = \/etc makes a pipeline that cannot run: model\.path \/etc is not a Hugging Face model folder: no config\.json/m
  const dataLine = /^sweep\.yaml:7:34: error: (stage `search`: )?`dataset\.train\.path` = \.\/missing\.tsv makes a pipeline that cannot run: \S*missing\.tsv: file not found/m

  test('validate and sweep refuse `/etc` and a missing data file at their lines, exit 2, and run nothing', { skip: needsShared }, async () => {
    const dir = setUp()
    paths(dir)
    const [v, s] = await Promise.all([
      lorapipeAsync(['validate', 'sweep.yaml'], { cwd: dir, env: offline(dir) }),
      lorapipeAsync(['sweep', 'sweep.yaml', '--out', 'swept', '--quiet'], { cwd: dir, env: offline(dir) }),
    ])
    assert.equal(v.code, 2, v.stdout + v.stderr)
    assert.match(v.stderr, modelLine)
    assert.match(v.stderr, dataLine)
    assert.match(v.stderr, /^2 errors in sweep\.yaml$/m, 'the good values pass')
    assert.equal(s.code, 2, s.stdout + s.stderr)
    assert.match(s.stderr, modelLine)
    assert.match(s.stderr, dataLine)
    assert.match(s.stderr, /nothing was run/)
    assert.equal(existsSync(join(dir, 'swept')), false, 'no sweep folder, no trial')
    assert.equal(existsSync(join(dir, 'sweeps')), false)
  })

  test('a pipeline with a `uses: sweep` stage: validate and run refuse the same values, nothing written', { skip: needsShared }, async () => {
    const dir = setUp()
    paths(dir)
    writeFileSync(join(dir, 'p.yaml'), 'name: outer\nstages:\n  search:\n    uses: sweep\n    with:\n      sweep: ./sweep.yaml\n')
    const results = await Promise.all([['validate', 'p.yaml'], ['run', 'p.yaml', '--out', 'run']].map((args) => lorapipeAsync(args, { cwd: dir, env: offline(dir) })))
    for (const r of results) {
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.match(r.stderr, modelLine)
      assert.match(r.stderr, dataLine)
    }
    assert.equal(existsSync(join(dir, 'run')), false)
  })
})
