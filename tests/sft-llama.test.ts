// Decoders end to end through the `lorapipe` command: pipelines/sst2-sft-lora.yaml (SmolLM2-135M-
// Instruct's recipe) run offline on the tiny Llama fixture and the SST-2 chat data with --set, as
// the DistilBERT pipelines' tests do; the adapter it writes loads (an evaluate stage, and the
// PyTorch reference ../shared/peer/llama_eval.py, give its eval loss); packing, truncation and
// gradient accumulation; kill -9 and --resume; bad input refused before anything is written; the
// parameter counts `plan` shows; a sweep over learning rate and r. Runs are a few steps long.
import { describe, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, lorapipeAsync, startLorapipe } from './support/cli.ts'
import { needsShared, shared, sharedDir } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-sft-'))
const PIPELINE = 'pipelines/sst2-sft-lora.yaml'
const local = () => [
  '--set', `model.path=${shared('fixtures', 'tiny-llama')}`,
  '--set', `dataset.train.path=${shared('data', 'sst2-sft', 'train.jsonl')}`,
  '--set', `dataset.eval.path=${shared('data', 'sst2-sft', 'dev.jsonl')}`,
]
const short = ['--set', 'trainer.max_steps=6', '--set', 'dataset.train.limit=64', '--set', 'dataset.eval.limit=32', '--set', 'trainer.log_every=1']
const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))
const events = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))

/** The tensor names and shapes in a safetensors file's header. */
function safetensorsHeader(file: string): Record<string, { shape: number[] }> {
  const b = readFileSync(file)
  const n = Number(b.readBigUInt64LE(0))
  const h = JSON.parse(b.subarray(8, 8 + n).toString('utf8'))
  delete h.__metadata__
  return h
}

/** Whether /usr/bin/python3 has torch (the reference's only dependency). */
const torchMissing = (() => {
  if (!sharedDir) return needsShared
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' })
  return r.status === 0 ? false : 'skipped: /usr/bin/python3 with torch is needed for the PyTorch reference (apt-get install python3-torch)'
})()

describe('causal-LM SFT end to end (tiny Llama, SST-2 chat data)', { skip: needsShared }, () => {
  let run: string
  let stdout: string

  before(() => {
    run = join(tmp(), 'run')
    const r = lorapipe(['run', PIPELINE, ...local(), ...short, '--out', run], { env: { HF_HUB_OFFLINE: '1' } })
    assert.equal(r.code, 0, r.stderr)
    stdout = r.stdout
  })

  test('sst2-sft-lora.yaml trains offline: the task comes from the model, counts are shown at the start, the loss falls, tokens/s and perplexity are reported', () => {
    assert.match(stdout, /train data \(.*train\.jsonl\): 64 rows: [\d,]+ tokens, [\d,]+ trained on; longest \d+; 0 truncated to 512; 0 dropped/)
    assert.match(stdout, /eval data \(.*dev\.jsonl\): 32 rows: [\d,]+ tokens, 78 trained on/)
    // LoRA r=16 on the seven projections of the two layers, as PEFT counts them.
    assert.match(stdout, /trainable params: 32,768 \|\| all params: 4,202,816 \|\| trainable%: 0\.7797/)
    assert.match(stdout, /step 6 epoch .* loss \d+\.\d+ .* samples\/s \d+ tokens\/s/)
    assert.match(stdout, /eval step 6: loss \d+\.\d+ perplexity \d+/)
    const ev = events(run)
    const losses = ev.filter((e) => e._tag === 'TrainLog').map((e) => e.loss as number)
    assert.equal(losses.length, 6)
    assert.ok(losses.at(-1)! < losses[0]!, `the training loss falls: ${losses.map((l) => l.toFixed(4)).join(', ')}`)
    assert.ok(ev.filter((e) => e._tag === 'Progress').every((e) => e.tokensPerSecond > 0), 'progress reports tokens/s')
    const m = metrics(run)
    assert.equal(m.eval.accuracy, undefined, 'a causal LM has no accuracy')
    assert.ok(Math.abs(m.eval.perplexity - Math.exp(m.eval.loss)) < 1e-6 * m.eval.perplexity)
    assert.ok(m.eval.tokens_per_s > 0 && m.train.tokens_per_s > 0)
    assert.equal(m.trainable_params, 32_768)
    assert.equal(JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')).model.architecture, 'LlamaForCausalLM')
    const report = readFileSync(join(run, 'report.html'), 'utf8')
    assert.match(report, /<th>perplexity<\/th>/)
    assert.match(report, /tokens\/s/)
  })

  test('the adapter is in PEFT format with task_type CAUSAL_LM', () => {
    const cfg = JSON.parse(readFileSync(join(run, 'adapter', 'adapter_config.json'), 'utf8'))
    assert.equal(cfg.task_type, 'CAUSAL_LM')
    assert.equal(cfg.peft_type, 'LORA')
    assert.deepEqual([...cfg.target_modules].sort(), ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'])
    const h = safetensorsHeader(join(run, 'adapter', 'adapter_model.safetensors'))
    assert.equal(Object.keys(h).length, 2 * 7 * 2)
    assert.deepEqual(h['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight']!.shape, [16, 64])
    assert.deepEqual(h['base_model.model.model.layers.1.mlp.down_proj.lora_B.weight']!.shape, [64, 16])
  })

  test('the adapter loads: an evaluate stage applies it and gives the eval loss the run reported, whatever its batch size', () => {
    const dir = tmp()
    const file = join(dir, 'eval.yaml')
    writeFileSync(
      file,
      `name: sft-eval
stages:
  eval:
    uses: evaluate
    with:
      model: { path: ${shared('fixtures', 'tiny-llama')} }
      adapter: ${join(run, 'adapter')}
      dataset: { eval: { path: ${shared('data', 'sst2-sft', 'dev.jsonl')}, limit: 32 } }
      batch_size: 5
`,
    )
    const out = join(dir, 'out')
    const r = lorapipe(['run', file, '--out', out])
    assert.equal(r.code, 0, r.stderr)
    const m = JSON.parse(readFileSync(join(out, 'eval', 'metrics.json'), 'utf8'))
    assert.equal(m.method, 'lora')
    assert.ok(Math.abs(m.eval.loss - metrics(run).eval.loss) < 1e-5, `${m.eval.loss} vs ${metrics(run).eval.loss}`)
    assert.match(r.stdout, /eval loss \d+\.\d{6} over 78 labelled tokens, perplexity/)
  })

  test('lorapipe export --merged writes a decoder folder whose losses are the base-plus-adapter ones (lorapipe score)', () => {
    const dir = tmp()
    const merged = join(dir, 'merged')
    const e = lorapipe(['export', run, '--merged', '--out', merged])
    assert.equal(e.code, 0, e.stderr)
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(existsSync(join(merged, f)), `${f} in the merged folder`)
    assert.equal(Object.keys(safetensorsHeader(join(merged, 'model.safetensors'))).some((k) => k.includes('lora_')), false)
    const input = join(dir, 'rows.jsonl')
    writeFileSync(input, readFileSync(shared('data', 'sst2-sft', 'dev.jsonl'), 'utf8').split('\n').slice(0, 4).join('\n') + '\n')
    const losses = (args: string[]) => {
      const r = lorapipe(['score', ...args, '--input', input, '--json'])
      assert.equal(r.code, 0, r.stderr)
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l).loss as number)
    }
    const withAdapter = losses(['--model', shared('fixtures', 'tiny-llama'), '--adapter', join(run, 'adapter')])
    const base = losses(['--model', shared('fixtures', 'tiny-llama')])
    const fromMerged = losses(['--model', merged])
    assert.equal(fromMerged.length, 4)
    fromMerged.forEach((l, i) => assert.ok(Math.abs(l - withAdapter[i]!) < 1e-5, `row ${i}: merged ${l} vs adapter ${withAdapter[i]}`))
    assert.ok(fromMerged.some((l, i) => Math.abs(l - base[i]!) > 1e-4), 'the merge changed the model')
  })

  test('the PyTorch reference (peer/llama_eval.py) gives the eval loss lorapipe reported, within 1e-4', { skip: torchMissing }, () => {
    const r = spawnSync('/usr/bin/python3', [shared('peer', 'llama_eval.py'), '--model', shared('fixtures', 'tiny-llama'), '--adapter', join(run, 'adapter'), '--limit', '32', '--no-generate'], { encoding: 'utf8', timeout: 120_000 })
    assert.equal(r.status, 0, r.stderr)
    const ref = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    assert.equal(ref.label_tokens, 78)
    const ours = metrics(run).eval.loss
    assert.ok(Math.abs(ref.loss - ours) < 1e-4, `llama_eval.py ${ref.loss}, lorapipe ${ours}`)
  })

  test('packing, truncation (rows counted) and gradient accumulation over all labelled tokens of the step', () => {
    const out = join(tmp(), 'packed')
    const r = lorapipe(['run', PIPELINE, ...local(), ...short, '--set', 'trainer.max_steps=2', '--set', 'trainer.packing=true', '--set', 'tokenizer.max_length=64', '--set', 'trainer.gradient_accumulation_steps=2', '--set', 'trainer.batch_size=2', '--out', out])
    assert.equal(r.code, 0, r.stderr)
    const m = /train data .*: 64 rows: .*; (\d+) truncated to 64; (\d+) dropped.*; packed into (\d+) sequences of at most 64 tokens/.exec(r.stdout)
    assert.ok(m, r.stdout)
    assert.ok(Number(m[1]) > 0, 'some rows are longer than 64 tokens')
    assert.ok(Number(m[3]) < 64 - Number(m[2]), 'packing puts several rows in a sequence')
    assert.match(r.stdout, /eval data .*: 32 rows: .*; \d+ truncated to 64/)
    const losses = metrics(out).history.train.map((x: { loss: number }) => x.loss)
    assert.equal(losses.length, 2)
    assert.ok(losses.every((l: number) => Number.isFinite(l) && l > 5))
  })

  test('trainer.gradient_checkpointing recomputes each layer in the backward: the same losses and adapter as without it', () => {
    const run = (name: string, extra: string[]) => {
      const out = join(tmp(), name)
      const r = lorapipe(['run', PIPELINE, ...local(), ...short, '--set', 'trainer.max_steps=2', '--set', 'lora.dropout=0.1', ...extra, '--out', out])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(/gradient checkpointing: each decoder layer is recomputed/.test(r.stdout), extra.length > 0, r.stdout)
      return { losses: metrics(out).history.train.map((x: { loss: number }) => x.loss), adapter: readFileSync(join(out, 'adapter', 'adapter_model.safetensors')) }
    }
    const plain = run('plain', [])
    const recomputed = run('checkpointed', ['--set', 'trainer.gradient_checkpointing=true'])
    assert.equal(recomputed.losses.length, 2)
    recomputed.losses.forEach((l: number, i: number) => assert.ok(Math.abs(l - plain.losses[i]) < 1e-6, `step ${i + 1}: ${l} vs ${plain.losses[i]}`))
    // Dropout masks are replayed in the recomputation, so the weights agree to float32 rounding.
    const a = new Float32Array(recomputed.adapter.buffer.slice(recomputed.adapter.byteOffset + 8 + Number(recomputed.adapter.readBigUInt64LE(0))))
    const b = new Float32Array(plain.adapter.buffer.slice(plain.adapter.byteOffset + 8 + Number(plain.adapter.readBigUInt64LE(0))))
    assert.equal(a.length, b.length)
    let worst = 0
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
    assert.ok(worst < 1e-5, `largest adapter weight difference ${worst}`)
  })

  test('a run killed with SIGKILL resumes from its last checkpoint and writes the same adapter as an uninterrupted run', async () => {
    // The same run as the uninterrupted one above, with a checkpoint every 2 steps (which changes no number).
    const args = [...local(), ...short, '--set', 'trainer.save_every=2']
    const whole = run

    const out = join(tmp(), 'killed')
    const child = startLorapipe(['run', PIPELINE, ...args, '--out', out])
    const ckpts = join(out, 'checkpoints')
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now()
      const poll = setInterval(() => {
        if (existsSync(ckpts) && readdirSync(ckpts).includes('step-2')) {
          clearInterval(poll)
          child.kill('SIGKILL')
          resolve()
        } else if (Date.now() - t0 > 120_000 || child.exitCode !== null) {
          clearInterval(poll)
          reject(new Error('the run ended before it could be killed'))
        }
      }, 10)
    })
    await new Promise((r) => child.on('close', r))
    assert.equal(existsSync(join(out, 'metrics.json')), false)

    const resumed = lorapipe(['run', '--resume', out])
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stdout, /resuming from .*step-[24]/)
    assert.deepEqual(metrics(out).history.train.map((x: { loss: number }) => x.loss), metrics(whole).history.train.map((x: { loss: number }) => x.loss))
    assert.equal(metrics(out).eval.loss, metrics(whole).eval.loss)
    assert.deepEqual(readFileSync(join(out, 'adapter', 'adapter_model.safetensors')), readFileSync(join(whole, 'adapter', 'adapter_model.safetensors')))
  })
})

describe('bad decoder input is refused before anything is written (exit 2)', { skip: needsShared }, () => {
  /** A copy of the tiny Llama (its files, some changed) in a fresh folder. */
  function modelCopy(change: (dir: string) => void = () => {}): string {
    const dir = join(tmp(), 'model')
    mkdirSync(dir)
    for (const f of readdirSync(shared('fixtures', 'tiny-llama'))) copyFileSync(shared('fixtures', 'tiny-llama', f), join(dir, f))
    change(dir)
    return dir
  }
  const jsonl = (rows: unknown[]) => {
    const f = join(tmp(), 'rows.jsonl')
    writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n')
    return f
  }
  const chat = (content: string, role = 'assistant') => ({ messages: [{ role: 'user', content: 'Classify: fine film.' }, { role, content }] })
  function refused(sets: string[], expected: RegExp): void {
    const out = join(tmp(), 'out')
    const r = lorapipe(['run', PIPELINE, ...local(), ...short, ...sets, '--out', out])
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, expected)
    assert.doesNotMatch(r.stderr, /\n\s+at .*\.ts:\d+/, 'no stack trace')
    assert.equal(existsSync(out), false, 'nothing written')
  }

  test('an unsupported model_type, naming the supported ones', () => {
    const dir = modelCopy((d) => {
      const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'))
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, model_type: 'gemma', architectures: ['GemmaForCausalLM'] }))
    })
    refused(['--set', `model.path=${dir}`], /config\.json.*"model_type" must be "distilbert", "bert", "llama", "mistral" or "qwen2", found "gemma"/)
  })

  test('a tokenizer whose vocabulary the model does not have', () => {
    refused(['--set', `tokenizer.path=${shared('fixtures', 'tokenizers', 'qwen2.5')}`], /^--set tokenizer\.path=.*: error: the tokenizer .* has 151,665 tokens but the model's vocab_size is 32,000 .*use the model's own tokenizer/m)
  })

  test('a shard that the index lists is missing', () => {
    const dir = modelCopy((d) => {
      const st = safetensorsHeader(join(d, 'model.safetensors'))
      const map = Object.fromEntries(Object.keys(st).map((k, i) => [k, i % 2 ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors']))
      writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }))
      copyFileSync(join(d, 'model.safetensors'), join(d, 'model-00001-of-00002.safetensors'))
      spawnSync('rm', [join(d, 'model.safetensors')])
    })
    refused(['--set', `model.path=${dir}`], /1 of the 2 shards that model\.safetensors\.index\.json lists is missing: model-00002-of-00002\.safetensors \(an interrupted download\? fetch the model again\)/)
  })

  test('a chat row with an unknown role, naming the file and line', () => {
    const f = jsonl([chat('positive'), { messages: [{ role: 'user', content: 'x' }, { role: 'robot', content: 'beep' }, { role: 'assistant', content: 'positive' }] }])
    refused(['--set', `dataset.train.path=${f}`], new RegExp(`rows\\.jsonl:2: .*"robot"`))
  })

  test('an empty completion, naming the file and line', () => {
    const f = jsonl([chat('positive'), chat('negative'), chat('  ')])
    refused(['--set', `dataset.train.path=${f}`], /rows\.jsonl:3: the last \(assistant\) message is empty: there is nothing to train on; fill it in or remove the row/)
  })

  test('messages data with a tokenizer that has no chat template says how to set one', () => {
    const dir = modelCopy((d) => {
      const c = JSON.parse(readFileSync(join(d, 'tokenizer_config.json'), 'utf8'))
      delete c.chat_template
      writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify(c))
    })
    refused(['--set', `model.path=${dir}`], /has no chat template .* set tokenizer\.chat_template in the pipeline to a Jinja template/)
  })

  test('model.task that the model cannot do', () => {
    refused(['--set', 'model.task=sequence-classification'], /model\.task is sequence-classification but .*config\.json is a LlamaForCausalLM \(model_type "llama"\), a causal-lm model/)
  })
})

describe('plan shows what a decoder finetune trains, as PEFT counts it', { skip: needsShared }, () => {
  test('the published configs with LoRA r=16 on the seven projections', () => {
    const table: Array<[string, string]> = [
      ['smollm2-135m', 'LlamaForCausalLM: trainable params: 4,884,480 || all params: 139,399,488 || trainable%: 3.5039'],
      ['qwen2.5-0.5b', 'Qwen2ForCausalLM: trainable params: 8,798,208 || all params: 502,830,976 || trainable%: 1.7497'],
      ['llama-3.2-1b', 'LlamaForCausalLM: trainable params: 11,272,192 || all params: 1,247,086,592 || trainable%: 0.9039'],
      ['tinyllama-1.1b', 'LlamaForCausalLM: trainable params: 12,615,680 || all params: 1,112,664,064 || trainable%: 1.1338'],
    ]
    for (const [name, line] of table) {
      const r = lorapipe(['plan', PIPELINE, ...local(), '--set', 'model.init=random', '--set', `model.config=${shared('fixtures', 'configs', `${name}.json`)}`])
      assert.equal(r.code, 0, r.stderr)
      assert.ok(r.stdout.includes(`#   finetune     ${line}\n`), `${name}:\n${r.stdout.split('\n').slice(-4).join('\n')}`)
    }
    const json = lorapipe(['plan', PIPELINE, ...local(), '--json'])
    assert.equal(json.code, 0, json.stderr)
    assert.deepEqual(JSON.parse(json.stdout).parameters.finetune, { trainable: 32_768, total: 4_202_816, line: 'trainable params: 32,768 || all params: 4,202,816 || trainable%: 0.7797', architecture: 'LlamaForCausalLM' })
  })

  test('validate accepts the decoder pipeline', () => {
    const r = lorapipe(['validate', PIPELINE, ...local(), ...short])
    assert.equal(r.code, 0, r.stderr)
  })
})

describe('a sweep over learning rate and r on the tiny Llama', { skip: needsShared }, () => {
  test('a 2 x 2 grid, minimising eval_loss: every trial completes and the leaderboard ranks them by it', async () => {
    const dir = tmp()
    const f = join(dir, 'sweep.yaml')
    writeFileSync(
      f,
      `name: sft-sweep
base: ${join(process.cwd(), PIPELINE)}
metric: { name: eval_loss, goal: minimize }
method: grid
parameters:
  trainer.learning_rate: { values: [0.001, 0.01] }
  lora.r: { values: [2, 4] }
`,
    )
    const out = join(dir, 'out')
    const r = await lorapipeAsync(['sweep', f, '--concurrency', '2', '--out', out, ...local(), '--set', 'trainer.max_steps=2', '--set', 'dataset.train.limit=16', '--set', 'dataset.eval.limit=8', '--set', 'trainer.batch_size=4'])
    assert.equal(r.code, 0, r.stderr)
    const rows = JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8')).rows as Array<{ state: string; objective: number; parameters: Record<string, number> }>
    assert.equal(rows.length, 4)
    assert.ok(rows.every((x) => x.state === 'completed' && Number.isFinite(x.objective)), JSON.stringify(rows))
    assert.deepEqual(new Set(rows.map((x) => `${x.parameters['trainer.learning_rate']}/${x.parameters['lora.r']}`)), new Set(['0.001/2', '0.001/4', '0.01/2', '0.01/4']))
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.objective <= rows[i]!.objective, 'ranked by eval_loss, lowest first')
    assert.match(r.stdout, /best: trial \d/)
  })
})
