// Names a Hugging Face user already knows (transformers' TrainingArguments, PEFT's LoraConfig,
// Axolotl and Ludwig configs) mapped to lorapipe's keys. An unknown key is looked up here, then
// among lorapipe's own keys of other sections, before any edit-distance guess: `eval_steps` is
// not a typo of `max_steps`, it is transformers' name for `trainer.eval_every`.
import { jobProperties } from '../pipeline/sections/index.ts'
import type { JSONSchema } from './json-schema.ts'

export type Tool = 'transformers' | 'PEFT' | 'Axolotl' | 'Ludwig' | 'TRL'

export interface ForeignName {
  /** The name as the other tool spells it. */
  readonly name: string
  readonly tools: readonly Tool[]
  /** lorapipe's key (a path from the pipeline's top, e.g. `trainer.eval_every`); absent when not supported. */
  readonly key?: string
  /** How lorapipe's key differs, or why the setting is not supported. */
  readonly note?: string
}

const unsupported = (name: string, tools: readonly Tool[], note: string): ForeignName => ({ name, tools, note })

export const foreignNames: readonly ForeignName[] = [
  // The model
  { name: 'base_model', tools: ['Axolotl', 'Ludwig'], key: 'model.id', note: 'a local folder goes in `model.path`' },
  { name: 'model_name_or_path', tools: ['transformers'], key: 'model.id', note: 'a local folder goes in `model.path`' },
  { name: 'base_model_name_or_path', tools: ['PEFT'], key: 'model.id', note: 'a local folder goes in `model.path`' },
  { name: 'tokenizer_name', tools: ['transformers'], key: 'tokenizer.path', note: 'a local folder; a hub tokenizer comes with `model.id`' },
  { name: 'task_type', tools: ['PEFT'], key: 'model.task', note: '`SEQ_CLS` is `sequence-classification`, `CAUSAL_LM` is `causal-lm`' },
  { name: 'load_in_8bit', tools: ['transformers', 'Axolotl'], note: 'quantised loading is not supported yet; weights are float32' },
  { name: 'load_in_4bit', tools: ['transformers', 'Axolotl'], note: 'quantised loading (QLoRA) is not supported yet; weights are float32' },
  // LoRA
  { name: 'lora_r', tools: ['Axolotl'], key: 'lora.r' },
  { name: 'lora_alpha', tools: ['PEFT', 'Axolotl'], key: 'lora.alpha' },
  { name: 'lora_dropout', tools: ['PEFT', 'Axolotl'], key: 'lora.dropout' },
  { name: 'lora_target_modules', tools: ['Axolotl'], key: 'lora.target_modules' },
  { name: 'lora_target_linear', tools: ['Axolotl'], key: 'lora.target_modules', note: 'write `target_modules: all-linear`' },
  { name: 'lora_modules_to_save', tools: ['Axolotl'], key: 'lora.modules_to_save' },
  { name: 'lora_model_dir', tools: ['Axolotl'], key: 'lora.init_from' },
  { name: 'peft_use_rslora', tools: ['Axolotl'], key: 'lora.use_rslora' },
  { name: 'peft_layers_to_transform', tools: ['Axolotl'], key: 'lora.layers_to_transform' },
  { name: 'adapter', tools: ['Axolotl', 'Ludwig'], key: 'lora', note: '`lora:` holds the adapter settings itself; `lora: null` means full fine-tuning' },
  { name: 'use_dora', tools: ['PEFT'], note: 'DoRA is not supported yet; remove it to train plain LoRA' },
  { name: 'peft_use_dora', tools: ['Axolotl'], note: 'DoRA is not supported yet; remove it to train plain LoRA' },
  unsupported('fan_in_fan_out', ['PEFT'], 'not needed: it is for GPT-2 style Conv1D layers, and lorapipe\'s models use plain linear layers'),
  unsupported('lora_fan_in_fan_out', ['Axolotl'], 'not needed: it is for GPT-2 style Conv1D layers, and lorapipe\'s models use plain linear layers'),
  unsupported('init_lora_weights', ['PEFT'], 'not configurable yet; lorapipe always uses PEFT\'s default (A Kaiming-uniform, B zero)'),
  // Batches, epochs, schedule
  { name: 'num_train_epochs', tools: ['transformers'], key: 'trainer.epochs' },
  { name: 'num_epochs', tools: ['Axolotl'], key: 'trainer.epochs' },
  { name: 'per_device_train_batch_size', tools: ['transformers'], key: 'trainer.batch_size' },
  { name: 'micro_batch_size', tools: ['Axolotl'], key: 'trainer.batch_size', note: 'per optimizer micro-step, as Axolotl\'s micro_batch_size' },
  { name: 'per_device_eval_batch_size', tools: ['transformers'], key: 'trainer.eval_batch_size' },
  { name: 'lr_scheduler_type', tools: ['transformers'], key: 'trainer.scheduler' },
  { name: 'lr_scheduler', tools: ['Axolotl'], key: 'trainer.scheduler' },
  { name: 'learning_rate_scheduler', tools: ['Ludwig'], key: 'trainer.scheduler', note: 'warmup is `trainer.warmup_ratio` / `trainer.warmup_steps`' },
  { name: 'warmup_fraction', tools: ['Ludwig'], key: 'trainer.warmup_ratio' },
  { name: 'gradient_clipping', tools: ['Ludwig'], key: 'trainer.max_grad_norm' },
  { name: 'optim', tools: ['transformers'], note: 'not supported yet: the optimizer is always AdamW (as `adamw_torch`); tune `trainer.adam_beta1`, `adam_beta2`, `adam_epsilon`' },
  { name: 'optimizer', tools: ['Axolotl', 'Ludwig'], note: 'not supported yet: the optimizer is always AdamW (as `adamw_torch`); tune `trainer.adam_beta1`, `adam_beta2`, `adam_epsilon`' },
  unsupported('fp16', ['transformers', 'Axolotl'], 'mixed precision is not supported yet; training runs in float32'),
  unsupported('bf16', ['transformers', 'Axolotl'], 'mixed precision is not supported yet; training runs in float32'),
  // Evaluation, logging, checkpoints
  { name: 'eval_steps', tools: ['transformers', 'Axolotl'], key: 'trainer.eval_every' },
  { name: 'evaluation_strategy', tools: ['transformers'], key: 'trainer.eval_every', note: 'there is no strategy: give the interval in steps; lorapipe always evaluates at the end too' },
  { name: 'eval_strategy', tools: ['transformers'], key: 'trainer.eval_every', note: 'there is no strategy: give the interval in steps; lorapipe always evaluates at the end too' },
  { name: 'evals_per_epoch', tools: ['Axolotl'], key: 'trainer.eval_every', note: 'in optimizer steps, not evaluations per epoch' },
  { name: 'logging_steps', tools: ['transformers', 'Axolotl'], key: 'trainer.log_every' },
  { name: 'logging_strategy', tools: ['transformers'], key: 'trainer.log_every', note: 'there is no strategy: give the interval in steps' },
  { name: 'save_steps', tools: ['transformers', 'Axolotl'], key: 'trainer.save_every' },
  { name: 'save_strategy', tools: ['transformers'], key: 'trainer.save_every', note: 'there is no strategy: give the interval in steps (default: at every evaluation)' },
  { name: 'saves_per_epoch', tools: ['Axolotl'], key: 'trainer.save_every', note: 'in optimizer steps, not saves per epoch' },
  { name: 'steps_per_checkpoint', tools: ['Ludwig'], key: 'trainer.save_every' },
  { name: 'early_stopping_patience', tools: ['transformers', 'Axolotl'], key: 'trainer.early_stopping.patience' },
  { name: 'early_stopping_threshold', tools: ['transformers'], key: 'trainer.early_stopping.threshold' },
  { name: 'early_stop', tools: ['Ludwig'], key: 'trainer.early_stopping.patience' },
  { name: 'greater_is_better', tools: ['transformers'], key: 'trainer.metric_for_best_model', note: 'not needed: loss is lower-is-better, accuracy and f1 higher-is-better' },
  { name: 'output_dir', tools: ['transformers', 'Axolotl'], key: 'output.dir', note: 'or `--out DIR` on the command line' },
  { name: 'use_tensorboard', tools: ['Axolotl'], key: 'trainer.report_to', note: 'write `report_to: [tensorboard]`' },
  { name: 'logging_dir', tools: ['transformers'], note: 'not needed: TensorBoard event files go in the run folder\'s `tb/<stage>/`' },
  // Data and tokenizer
  { name: 'max_seq_length', tools: ['TRL'], key: 'tokenizer.max_length' },
  { name: 'sequence_len', tools: ['Axolotl'], key: 'tokenizer.max_length' },
  { name: 'sample_packing', tools: ['Axolotl'], key: 'trainer.packing' },
  { name: 'train_on_inputs', tools: ['Axolotl'], key: 'trainer.completion_only_loss', note: 'the opposite sense: `train_on_inputs: true` is `completion_only_loss: false`' },
  { name: 'dataset_text_field', tools: ['TRL'], key: 'dataset.text_column' },
  { name: 'global_max_sequence_length', tools: ['Ludwig'], key: 'tokenizer.max_length' },
  { name: 'datasets', tools: ['Axolotl'], key: 'dataset', note: 'one `dataset` with `train` and `eval` splits' },
  { name: 'val_set_size', tools: ['Axolotl'], key: 'dataset.eval.ratio' },
  { name: 'data_seed', tools: ['transformers'], key: 'dataset.train.seed' },
  { name: 'input_features', tools: ['Ludwig'], key: 'dataset.text_column' },
  { name: 'output_features', tools: ['Ludwig'], key: 'dataset.label_column' },
]

const byName = new Map(foreignNames.map((f) => [f.name, f]))

/** 'Axolotl' -> "Axolotl's"; ['transformers', 'Axolotl'] -> "transformers' and Axolotl's". */
function possessive(tools: readonly Tool[]): string {
  const one = (t: Tool) => (t.endsWith('s') ? `${t}'` : `${t}'s`)
  return tools.length === 1 ? one(tools[0]!) : `${tools.slice(0, -1).map(one).join(', ')} and ${one(tools.at(-1)!)}`
}

/** lorapipe's own keys one level into each job section, plus the top-level `seed`: name -> full paths. */
function ownKeys(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const add = (name: string, path: string) => out.set(name, [...(out.get(name) ?? []), path])
  add('seed', 'seed')
  for (const [section, schema] of Object.entries(jobProperties)) {
    add(section, section)
    for (const key of Object.keys((schema.properties ?? {}) as Record<string, JSONSchema>)) add(key, `${section}.${key}`)
  }
  return out
}
const own = ownKeys()

/**
 * The hint for an unknown key `key` at the JSON pointer `parent` (the map it sits in: `/trainer`,
 * `` for the top level, `/stages/x/with/trainer` inside a stage), whose valid keys are `siblings`.
 * Undefined when the key is neither another tool's name nor one of lorapipe's keys elsewhere.
 */
export function knownNameHint(key: string, parent: string, siblings: readonly string[]): string | undefined {
  const segs = parent.split('/').slice(1)
  // Inside a stage only its `with:` holds job sections; a stage's other keys are not job keys.
  if (segs[0] === 'stages' && segs[2] !== 'with') return undefined
  const section = (segs[0] === 'stages' ? segs.slice(3) : segs).join('.')
  // At the root of a stage's `with:`, only a stage that takes job sections (finetune, evaluate).
  if (section === '' && !siblings.some((k) => k in jobProperties)) return undefined
  const f = byName.get(key)
  if (f) {
    const whose = `\`${key}\` is ${possessive(f.tools)} name`
    if (!f.key) return `${whose}; ${f.note}`
    return `${whose}; here it is \`${f.key}\`${f.note ? ` (${f.note})` : ''}`
  }
  const places = (own.get(key) ?? []).filter((p) => p !== (section === '' ? key : `${section}.${key}`))
  if (places.length === 0) return undefined
  const where = (p: string) => (p.includes('.') ? `in \`${p.slice(0, p.lastIndexOf('.'))}\`` : 'at the top level')
  return `\`${key}\` belongs ${places.map(where).join(' or ')}: ${places.map((p) => `\`${p}\``).join(' or ')}`
}

/** The README's table of lorapipe keys against the other tools' names, from the same table. */
export function foreignNamesTable(): string {
  const rows = ['| their name | used by | lorapipe | difference |', '|---|---|---|---|']
  for (const f of foreignNames) {
    rows.push(`| \`${f.name}\` | ${f.tools.join(', ')} | ${f.key ? `\`${f.key}\`` : 'not supported'} | ${(f.note ?? '').replace(/\|/g, '\\|')} |`)
  }
  return rows.join('\n') + '\n'
}
