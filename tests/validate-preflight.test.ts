// `lorapipe validate` makes the same checks as `lorapipe run` makes before it writes anything, so
// a pipeline `validate` calls valid does not then fail `run` with exit 2; problems that come from
// `--set` are placed at that argument.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe } from './support/cli.ts'
import { needsShared, shared } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-preflight-'))
const local = () => [
  '--set', `model.path=${shared('fixtures', 'tiny-distilbert')}`,
  '--set', `dataset.train.path=${shared('data', 'sst2', 'train.tsv')}`,
  '--set', `dataset.eval.path=${shared('data', 'sst2', 'dev.tsv')}`,
]

describe('validate runs the preflight of run', () => {
  test('a missing data column fails validate and run alike, with exit 2, and run writes nothing', { skip: needsShared }, () => {
    const args = ['pipelines/sst2-lora.yaml', ...local(), '--set', 'dataset.text_column=sentense']
    const v = lorapipe(['validate', ...args])
    assert.equal(v.code, 2, v.stdout + v.stderr)
    assert.match(v.stderr, /sentense/)
    const out = join(tmp(), 'run')
    const r = lorapipe(['run', ...args, '--out', out])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(v.stderr.split('\n')[0], r.stderr.split('\n')[0], 'the same first error line')
    assert.match(r.stderr, /nothing was run or written/)
    assert.equal(existsSync(out), false)
  })

  test('target_modules given as one name on the command line says how to write a list, and the list validates', { skip: needsShared }, () => {
    const bad = lorapipe(['validate', 'pipelines/sst2-lora.yaml', ...local(), '--set', 'lora.target_modules=q_lin'])
    assert.equal(bad.code, 2, bad.stdout)
    assert.match(bad.stderr, /^--set lora\.target_modules=q_lin: error: LoRA: target_modules regex "q_lin" matches no linear module \(it must match the whole path\); linear modules of this model: distilbert\.transformer\.layer\.0\.attention\.q_lin, /m)
    assert.ok(bad.stderr.includes("hint: a string is a regular expression matched against the whole module path, as in PEFT; to name modules give a list: `target_modules: [q_lin]` in the file, or `--set 'lora.target_modules=[q_lin]'` on the command line"), bad.stderr)
    const good = lorapipe(['validate', 'pipelines/sst2-lora.yaml', ...local(), '--set', 'lora.target_modules=[q_lin,v_lin]'])
    assert.equal(good.code, 0, good.stderr)
    assert.match(good.stdout, /is valid/)
    assert.doesNotMatch(good.stdout, /not checked/)
  })

  test('a model folder without config.json is bad input at the --set that named it', () => {
    const empty = tmp()
    const r = lorapipe(['validate', 'pipelines/sst2-lora.yaml', '--set', `model.path=${empty}`])
    assert.equal(r.code, 2, r.stdout)
    assert.match(r.stderr, new RegExp(`^--set model\\.path=${empty}: error: model\\.path ${empty} is not a Hugging Face model folder: no config\\.json`, 'm'))
  })

  test('an invalid value from --set is attributed to the command line, not to a line of the file', () => {
    const r = lorapipe(['validate', 'pipelines/sst2-lora-vs-full.yaml', '--set', 'lora.r=0'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^--set lora\.r=0: error: `lora\.r` must be >= 1, not 0/m)
    assert.doesNotMatch(r.stderr, /\.yaml:\d+:\d+/)
  })

  test('what needs a download is named as not checked yet, and the file is still valid', () => {
    const r = lorapipe(['validate', 'pipelines/sst2-lora.yaml'], { env: { HF_HUB_CACHE: tmp(), HF_HUB_OFFLINE: '' } })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /not checked yet: model distilbert-base-uncased is not in the Hugging Face cache yet, so it, the data and the LoRA targets are checked when the run downloads it/)
  })
})
