// A pipeline written with the names of transformers, PEFT, Axolotl or Ludwig gets, for each such
// key, the one lorapipe key it means (or a plain "not supported yet"), never an edit-distance guess.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { foreignNames, foreignNamesTable, knownNameHint } from '../../src/schema/foreign-names.ts'
import { trainerSchema } from '../../src/pipeline/sections/index.ts'
import { pipelineSchema } from '../../src/pipeline/schema.ts'
import { loadErrors, writeFiles } from '../support.ts'

async function hintsOf(yaml: string): Promise<Map<string, string | undefined>> {
  const dir = writeFiles({ 'p.yaml': yaml })
  const ds = await loadErrors(join(dir, 'p.yaml'))
  const out = new Map<string, string | undefined>()
  for (const d of ds) {
    const m = /^unknown key `([^`]+)`/.exec(d.message)
    assert.ok(m, `only unknown keys expected, got: ${d.message}`)
    assert.equal(out.has(m[1]!), false, `one diagnostic per key: ${m[1]}`)
    out.set(m[1]!, d.hint)
  }
  return out
}

describe('names from other tools', () => {
  it('a pipeline in transformers and PEFT names gets one precise mapping per key', async () => {
    const hints = await hintsOf(`name: hf
seed: 42
model: { path: ./model, num_labels: 2 }
lora:
  target_modules: [q_lin, v_lin]
  r: 8
  lora_alpha: 16
  lora_dropout: 0.05
  use_dora: true
  fan_in_fan_out: false
dataset: { train: { path: t.tsv }, eval: { path: d.tsv } }
trainer:
  num_train_epochs: 2
  per_device_train_batch_size: 16
  per_device_eval_batch_size: 32
  gradient_accumulation_steps: 2
  lr_scheduler_type: cosine
  warmup_ratio: 0.1
  warmup_steps: 10
  weight_decay: 0.01
  max_grad_norm: 1.0
  eval_steps: 50
  evaluation_strategy: steps
  eval_strategy: steps
  save_steps: 50
  logging_steps: 10
  save_total_limit: 2
  load_best_model_at_end: true
  seed: 42
  r: 8
  output_dir: out
  max_seq_length: 128
`)
    assert.deepEqual(Object.fromEntries(hints), {
      lora_alpha: "`lora_alpha` is PEFT's and Axolotl's name; here it is `lora.alpha`",
      lora_dropout: "`lora_dropout` is PEFT's and Axolotl's name; here it is `lora.dropout`",
      use_dora: "`use_dora` is PEFT's name; DoRA is not supported yet; remove it to train plain LoRA",
      fan_in_fan_out: "`fan_in_fan_out` is PEFT's name; not needed: it is for GPT-2 style Conv1D layers, and lorapipe's models use plain linear layers",
      num_train_epochs: "`num_train_epochs` is transformers' name; here it is `trainer.epochs`",
      per_device_train_batch_size: "`per_device_train_batch_size` is transformers' name; here it is `trainer.batch_size`",
      per_device_eval_batch_size: "`per_device_eval_batch_size` is transformers' name; here it is `trainer.eval_batch_size`",
      lr_scheduler_type: "`lr_scheduler_type` is transformers' name; here it is `trainer.scheduler`",
      eval_steps: "`eval_steps` is transformers' and Axolotl's name; here it is `trainer.eval_every`",
      evaluation_strategy: "`evaluation_strategy` is transformers' name; here it is `trainer.eval_every` (there is no strategy: give the interval in steps; lorapipe always evaluates at the end too)",
      eval_strategy: "`eval_strategy` is transformers' name; here it is `trainer.eval_every` (there is no strategy: give the interval in steps; lorapipe always evaluates at the end too)",
      save_steps: "`save_steps` is transformers' and Axolotl's name; here it is `trainer.save_every`",
      logging_steps: "`logging_steps` is transformers' and Axolotl's name; here it is `trainer.log_every`",
      seed: '`seed` belongs at the top level: `seed`',
      r: '`r` belongs in `lora`: `lora.r`',
      output_dir: "`output_dir` is transformers' and Axolotl's name; here it is `output.dir` (or `--out DIR` on the command line)",
      max_seq_length: "`max_seq_length` is TRL's name; here it is `tokenizer.max_length`",
    })
  })

  it('a flat Axolotl config gets its keys mapped into lorapipe\'s sections', async () => {
    const hints = await hintsOf(`name: axolotl
base_model: distilbert-base-uncased
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin] }
adapter: lora
lora_r: 8
lora_alpha: 16
lora_target_linear: true
sequence_len: 256
micro_batch_size: 4
num_epochs: 2
lr_scheduler: cosine
learning_rate: 0.0002
val_set_size: 0.1
load_best_model_at_end: true
dataset: { train: { path: t.tsv }, eval: { path: d.tsv } }
trainer: {}
`)
    assert.deepEqual(Object.fromEntries(hints), {
      base_model: "`base_model` is Axolotl's and Ludwig's name; here it is `model.id` (a local folder goes in `model.path`)",
      adapter: "`adapter` is Axolotl's and Ludwig's name; here it is `lora` (`lora:` holds the adapter settings itself; `lora: null` means full fine-tuning)",
      lora_r: "`lora_r` is Axolotl's name; here it is `lora.r`",
      lora_alpha: "`lora_alpha` is PEFT's and Axolotl's name; here it is `lora.alpha`",
      lora_target_linear: "`lora_target_linear` is Axolotl's name; here it is `lora.target_modules` (write `target_modules: all-linear`)",
      sequence_len: "`sequence_len` is Axolotl's name; here it is `tokenizer.max_length`",
      micro_batch_size: "`micro_batch_size` is Axolotl's name; here it is `trainer.batch_size` (per optimizer micro-step, as Axolotl's micro_batch_size)",
      num_epochs: "`num_epochs` is Axolotl's name; here it is `trainer.epochs`",
      lr_scheduler: "`lr_scheduler` is Axolotl's name; here it is `trainer.scheduler`",
      learning_rate: '`learning_rate` belongs in `trainer`: `trainer.learning_rate`',
      val_set_size: "`val_set_size` is Axolotl's name; here it is `dataset.eval.ratio`",
      load_best_model_at_end: '`load_best_model_at_end` belongs in `trainer`: `trainer.load_best_model_at_end`',
    })
  })

  it('inside a stage\'s `with:` the same names map the same way', async () => {
    const hints = await hintsOf(`name: staged
stages:
  a:
    uses: finetune
    with:
      model: { path: ./model, num_labels: 2 }
      lora: { target_modules: [q_lin] }
      dataset: { train: { path: t.tsv }, eval: { path: d.tsv } }
      trainer: { eval_steps: 10 }
`)
    assert.deepEqual(Object.fromEntries(hints), { eval_steps: "`eval_steps` is transformers' and Axolotl's name; here it is `trainer.eval_every`" })
  })

  it('experiment tracking as transformers and Axolotl write it points to `trainer.report_to`', async () => {
    const hints = await hintsOf(`name: tracked
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin] }
dataset: { train: { path: t.tsv }, eval: { path: d.tsv } }
report_to: [tensorboard]
use_tensorboard: true
trainer: { logging_dir: ./logs }
`)
    assert.deepEqual(Object.fromEntries(hints), {
      report_to: '`report_to` belongs in `trainer`: `trainer.report_to`',
      use_tensorboard: "`use_tensorboard` is Axolotl's name; here it is `trainer.report_to` (write `report_to: [tensorboard]`)",
      logging_dir: "`logging_dir` is transformers' name; not needed: TensorBoard event files go in the run folder's `tb/<stage>/`",
    })
  })

  it('a plain typo still gets the closest key', async () => {
    const hints = await hintsOf(`name: typo
model: { path: ./model, num_labels: 2 }
lora: { target_modules: [q_lin] }
dataset: { train: { path: t.tsv }, eval: { path: d.tsv } }
trainer: { learning_rte: 1.0e-4 }
`)
    assert.equal(hints.get('learning_rte'), 'did you mean `learning_rate`?')
  })

  it('every mapped name points at a key the schema has, and no name is also a lorapipe key of its section', () => {
    const schema = pipelineSchema()
    for (const f of foreignNames) {
      if (!f.key) continue
      let cur: any = schema
      for (const seg of f.key.split('.')) {
        cur = cur.properties?.[seg]
        assert.ok(cur, `${f.name} -> ${f.key}: no such key`)
      }
      const section = f.key.split('.')[0]!
      assert.equal(f.name in ((schema.properties as any)[section]?.properties ?? {}), false, `${f.name} is lorapipe's own key in ${section}`)
    }
    assert.equal(Object.keys(trainerSchema.properties as object).includes('eval_steps'), false)
  })

  it('the README table lists each name once with its lorapipe key or "not supported"', () => {
    const table = foreignNamesTable()
    assert.match(table, /\| `eval_steps` \| transformers, Axolotl \| `trainer.eval_every` \|/)
    assert.match(table, /\| `use_dora` \| PEFT \| not supported \|/)
    assert.equal(new Set(foreignNames.map((f) => f.name)).size, foreignNames.length)
    assert.equal(knownNameHint('epochs', '', ['name', 'trainer']), '`epochs` belongs in `trainer`: `trainer.epochs`')
  })
})
