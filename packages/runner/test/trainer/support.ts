// A tiny sentiment task the tests build themselves (no ../shared): a WordPiece vocabulary of 40
// tokens, a DistilBERT of width 16 saved as a Hugging Face folder, and labelled sentences made of
// positive and negative words, so a bare clone tests the trainer end to end.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { selectBackend } from '../../src/backend/select.ts'
import { parseModelConfig } from '../../src/models/config.ts'
import { createRandomModel, saveModel } from '../../src/models/load.ts'
import { loadTokenizer } from '../../src/tokenizer/load.ts'
import type { TextTokenizer } from '../../src/tokenizer/tokenizer.ts'
import { Rng } from '../../src/data/rng.ts'
import type { EncodedSplit } from '../../src/trainer/evaluate.ts'

const POSITIVE = ['good', 'great', 'fine', 'nice', 'happy', 'love', 'best', 'fun']
const NEGATIVE = ['bad', 'awful', 'poor', 'sad', 'hate', 'worst', 'dull', 'boring']
const NEUTRAL = ['the', 'a', 'movie', 'film', 'was', 'is', 'it', 'plot', 'acting', 'very', 'really', 'quite', 'story', 'and']
export const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...POSITIVE, ...NEGATIVE, ...NEUTRAL]

export const TINY_CONFIG = {
  architectures: ['DistilBertForSequenceClassification'],
  model_type: 'distilbert',
  vocab_size: VOCAB.length,
  max_position_embeddings: 32,
  dim: 16,
  n_layers: 2,
  n_heads: 2,
  hidden_dim: 32,
  dropout: 0.1,
  attention_dropout: 0.1,
  seq_classif_dropout: 0.2,
  initializer_range: 0.2,
  pad_token_id: 0,
  id2label: { '0': 'negative', '1': 'positive' },
  label2id: { negative: 0, positive: 1 },
}

/**
 * The backend a test runs on (LORAPIPE_BACKEND overrides it). The tiny models run fastest on the
 * pure-JS cpu backend (wasm's per-op overhead dominates at width 16); the results do not depend on it.
 */
export async function useTestBackend(name: 'cpu' | 'wasm' = 'cpu'): Promise<void> {
  await selectBackend({ backend: name })
}

/** `n` sentences of 3 to 9 words; the label says whether positive words outnumber negative ones. */
export function sentences(n: number, seed: number): { sentence: string; label: number }[] {
  const rng = new Rng(seed)
  const pick = (list: string[]) => list[rng.nextInt(list.length)]!
  const out: { sentence: string; label: number }[] = []
  for (let i = 0; i < n; i++) {
    const label = rng.nextInt(2)
    const words: string[] = []
    const len = 2 + rng.nextInt(5)
    for (let w = 0; w < len; w++) words.push(pick(NEUTRAL))
    const strong = 2 + rng.nextInt(2)
    for (let k = 0; k < strong; k++) words.splice(rng.nextInt(words.length + 1), 0, pick(label ? POSITIVE : NEGATIVE))
    out.push({ sentence: words.join(' '), label })
  }
  return out
}

export function writeTsv(file: string, rows: { sentence: string; label: number }[]): void {
  writeFileSync(file, `sentence\tlabel\n${rows.map((r) => `${r.sentence}\t${r.label}`).join('\n')}\n`)
}

/** A Hugging Face model folder (config.json, model.safetensors, vocab.txt) with seeded random weights. */
export async function writeTinyModel(dir: string, seed = 1, overrides: Record<string, unknown> = {}): Promise<string> {
  mkdirSync(dir, { recursive: true })
  const model = createRandomModel(parseModelConfig({ ...TINY_CONFIG, ...overrides }), { seed })
  await saveModel(model, dir)
  model.dispose()
  writeFileSync(join(dir, 'vocab.txt'), VOCAB.join('\n') + '\n')
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 32 }))
  return dir
}

export function encodeSplit(tok: TextTokenizer, rows: { sentence: string; label: number }[]): EncodedSplit {
  return { encoded: tok.encodeAll(rows.map((r) => r.sentence)), labels: Int32Array.from(rows.map((r) => r.label)) }
}

export function tinyTokenizer(dir: string): TextTokenizer {
  return loadTokenizer(dir, { maxLength: 32 })
}

/** A temporary folder with the tiny model written in it, its tokenizer, and encoded train/eval sentences. */
export interface TinyTask {
  readonly dir: string
  readonly tok: TextTokenizer
  readonly train: EncodedSplit
  readonly eval: EncodedSplit
}

/** Selects the test backend and builds a TinyTask in a new temporary folder named `prefix...` (the caller removes it). */
export async function tinyTask(prefix: string, trainSentences: number, evalSentences: number): Promise<TinyTask> {
  await useTestBackend()
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const tok = tinyTokenizer(await writeTinyModel(join(dir, 'model')))
  return { dir, tok, train: encodeSplit(tok, sentences(trainSentences, 1)), eval: encodeSplit(tok, sentences(evalSentences, 2)) }
}
