import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { BATCH, TINY_BERT, TINY_DISTILBERT, maxAbsDiff, referenceBert, referenceDistilbert, useBackend } from './support.ts'
import { parseModelConfig } from '../../src/models/config.ts'
import { ModelConfigError } from '../../src/models/config-fields.ts'
import type { BertConfig } from '../../src/models/bert.ts'
import type { DistilBertConfig } from '../../src/models/distilbert.ts'
import { createRandomModel, loadPretrained, saveModel } from '../../src/models/load.ts'
import { ModelError } from '../../src/models/error.ts'
import type { SequenceClassifier } from '../../src/models/classifier.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { writeSafetensors } from '../../src/safetensors/write.ts'
import { Rng } from '../../src/nn/rng.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { crossEntropy } from '../../src/nn/loss.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

let dir = ''
before(async () => {
  await useBackend('cpu')
  dir = await mkdtemp(join(tmpdir(), 'models-'))
})
after(() => rm(dir, { recursive: true, force: true }))

const inputs = () => ({
  ids: tf.tensor2d(BATCH.ids, undefined, 'int32'),
  mask: tf.tensor2d(BATCH.mask, undefined, 'int32'),
  types: tf.tensor2d(BATCH.tokenTypes, undefined, 'int32'),
})

function weightsOf(model: SequenceClassifier) {
  return (name: string) => model.parameter(name).read()
}

function logitsOf(model: SequenceClassifier, withTypes = false, training = false): number[][] {
  const { ids, mask, types } = inputs()
  const out = model.forward(ids, mask, withTypes ? types : null, { training })
  const v = out.arraySync() as number[][]
  tf.dispose([ids, mask, types, out])
  return v
}

describe('model config', () => {
  test('applies transformers defaults and takes labels from id2label', () => {
    const c = parseModelConfig({ model_type: 'distilbert', id2label: { 0: 'a', 1: 'b', 2: 'c' } }) as DistilBertConfig
    assert.equal(c.dim, 768)
    assert.equal(c.nLayers, 6)
    assert.equal(c.seqClassifDropout, 0.2)
    assert.equal(c.numLabels, 3)
    assert.deepEqual(c.label2id, { a: 0, b: 1, c: 2 })
  })

  test('a masked-LM config without labels gets 2 labels; an override renames them LABEL_i', () => {
    const c = parseModelConfig({ model_type: 'bert' }) as BertConfig
    assert.equal(c.numLabels, 2)
    assert.equal(c.classifierDropout, null)
    const d = parseModelConfig({ model_type: 'bert', id2label: { 0: 'x', 1: 'y' } }, 'c.json', { numLabels: 4 })
    assert.deepEqual(d.id2label, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2', 3: 'LABEL_3' })
    const e = parseModelConfig({ model_type: 'bert' }, 'c.json', { labels: ['bad', 'good'] })
    assert.deepEqual(e.label2id, { bad: 0, good: 1 })
  })

  test('rejects unsupported or inconsistent configs with a ModelConfigError naming the file and field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ model_type: 'gpt2' }, /"model_type" must be "distilbert", "bert", "llama", "mistral" or "qwen2", found "gpt2"/],
      [{ model_type: 'distilbert', dim: 10, n_heads: 3 }, /"dim" \(10\) must be divisible by "n_heads" \(3\)/],
      [{ model_type: 'bert', position_embedding_type: 'relative_key' }, /only "absolute"/],
      [{ model_type: 'bert', hidden_act: 'swishy' }, /"hidden_act": "swishy" is not supported/],
      [{ model_type: 'distilbert', n_layers: 0 }, /"n_layers" must be a positive integer/],
      [{ model_type: 'distilbert', dropout: 1.5 }, /"dropout" must be a probability/],
      [[1, 2], /must be a JSON object/],
    ]
    for (const [raw, re] of cases) {
      assert.throws(() => parseModelConfig(raw, 'my/config.json'), (e: unknown) => {
        assert.ok(e instanceof ModelConfigError)
        assert.match(e.message, /^my\/config\.json: /)
        assert.match(e.message, re)
        return true
      })
    }
  })
})

describe('random initialisation (transformers _init_weights)', () => {
  test('normal(0, initializer_range) weights, zero padding row and biases, LayerNorm 1/0, seeded', () => {
    const cfg = parseModelConfig({ ...TINY_DISTILBERT, vocab_size: 400, dim: 32, n_heads: 4, initializer_range: 0.02 })
    const m = createRandomModel(cfg, { seed: 7 })
    const emb = m.parameter('distilbert.embeddings.word_embeddings.weight').read()
    assert.ok(emb.slice(0, 32).every((v) => v === 0), 'padding row (pad_token_id 0) is zero')
    const rest = emb.slice(32)
    const mean = rest.reduce((a, b) => a + b, 0) / rest.length
    const std = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / rest.length)
    assert.ok(Math.abs(mean) < 0.001, `mean ${mean}`)
    assert.ok(Math.abs(std - 0.02) < 0.001, `std ${std}`)
    assert.ok(m.parameter('distilbert.transformer.layer.1.sa_layer_norm.weight').read().every((v) => v === 1))
    assert.ok(m.parameter('classifier.bias').read().every((v) => v === 0))
    const again = createRandomModel(cfg, { seed: 7 })
    assert.deepEqual(again.parameter('pre_classifier.weight').read(), m.parameter('pre_classifier.weight').read())
    const other = createRandomModel(cfg, { seed: 8 })
    assert.notDeepEqual(other.parameter('pre_classifier.weight').read(), m.parameter('pre_classifier.weight').read())
    for (const x of [m, again, other]) x.dispose()
  })

  test('parameter names and shapes are those of the transformers state dict', () => {
    const m = createRandomModel(parseModelConfig(TINY_BERT))
    const names = m.namedParameters().map((p) => p.name)
    assert.equal(names.length, 5 + 16 * 2 + 2 + 2)
    assert.deepEqual(m.parameter('bert.encoder.layer.1.attention.self.query.weight').shape, [8, 8])
    assert.deepEqual(m.parameter('bert.encoder.layer.0.intermediate.dense.weight').shape, [12, 8])
    assert.deepEqual(m.parameter('bert.pooler.dense.bias').shape, [8])
    assert.deepEqual(m.parameter('classifier.weight').shape, [2, 8])
    assert.ok(m.linearModulePaths().includes('bert.encoder.layer.0.attention.output.dense'))
    assert.equal(m.trainableParameters().length, 0, 'everything starts frozen')
    m.dispose()
  })
})

describe('forward pass against an independent float64 reference (no ../shared)', () => {
  test('DistilBERT: saved with our writer, loaded back, logits match the reference within 1e-5', async () => {
    const cfg = parseModelConfig(TINY_DISTILBERT)
    const src = createRandomModel(cfg, { seed: 1 })
    const folder = join(dir, 'tiny-distilbert')
    await saveModel(src, folder)
    src.dispose()
    const { model, report } = await loadPretrained(folder)
    assert.deepEqual(report.warnings, [])
    const ours = logitsOf(model)
    const ref = referenceDistilbert(TINY_DISTILBERT, weightsOf(model), BATCH.ids, BATCH.mask, 3)
    assert.ok(maxAbsDiff(ours, ref) < 1e-5, `diff ${maxAbsDiff(ours, ref)}`)
    model.dispose()
  })

  test('BERT: logits match the reference with and without token type ids', () => {
    const model = createRandomModel(parseModelConfig(TINY_BERT), { seed: 2 })
    const w = weightsOf(model)
    const withTypes = logitsOf(model, true)
    const ref = referenceBert(TINY_BERT, w, BATCH.ids, BATCH.mask, BATCH.tokenTypes, 2)
    assert.ok(maxAbsDiff(withTypes, ref) < 1e-5, `diff ${maxAbsDiff(withTypes, ref)}`)
    const noTypes = logitsOf(model, false)
    const ref0 = referenceBert(TINY_BERT, w, BATCH.ids, BATCH.mask, null, 2)
    assert.ok(maxAbsDiff(noTypes, ref0) < 1e-5)
    assert.ok(maxAbsDiff(withTypes, noTypes) > 1e-4, 'token types change the result')
    model.dispose()
  })

  test('padding does not change the logits of a sequence', () => {
    const model = createRandomModel(parseModelConfig(TINY_DISTILBERT), { seed: 3 })
    const short = model.forward(tf.tensor2d([[1, 30, 31, 2]], undefined, 'int32'), tf.tensor2d([[1, 1, 1, 1]], undefined, 'int32'))
    const padded = logitsOf(model)[1]!
    assert.ok(maxAbsDiff([padded], short.arraySync() as number[][]) < 1e-6)
    model.dispose()
  })
})

describe('loading checkpoints', () => {
  async function writeCheckpoint(name: string, config: object, tensors: Map<string, { shape: number[]; data: Float32Array }>) {
    const folder = join(dir, name)
    await saveModel(createRandomModel(parseModelConfig({ ...config })), folder) // creates the folder
    await writeSafetensors(join(folder, 'model.safetensors'), tensors)
    await writeFile(join(folder, 'config.json'), JSON.stringify(config))
    return folder
  }
  function stateDict(m: SequenceClassifier) {
    return new Map(m.baseParameters().map((p) => [p.name, { shape: p.shape, data: p.read() }]))
  }

  test('a masked-LM checkpoint without prefix: MLM head ignored, classifier head newly initialised (seeded) with warnings', async () => {
    const base = createRandomModel(parseModelConfig(TINY_DISTILBERT), { seed: 4 })
    const sd = stateDict(base)
    const ckpt = new Map<string, { shape: number[]; data: Float32Array }>()
    for (const [k, v] of sd) if (k.startsWith('distilbert.')) ckpt.set(k.slice('distilbert.'.length), v)
    ckpt.set('vocab_transform.weight', { shape: [8, 8], data: new Float32Array(64) })
    ckpt.set('vocab_projector.bias', { shape: [40], data: new Float32Array(40) })
    const mlm = { ...TINY_DISTILBERT, architectures: ['DistilBertForMaskedLM'], id2label: undefined }
    const folder = await writeCheckpoint('mlm', mlm, ckpt)
    const { model, report } = await loadPretrained(folder, { seed: 11 })
    assert.deepEqual(report.missingKeys, ['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias'])
    assert.deepEqual(report.unexpectedKeys.sort(), ['vocab_projector.bias', 'vocab_transform.weight'])
    assert.match(report.warnings.join('\n'), /newly initialized: \[pre_classifier\.weight, pre_classifier\.bias, classifier\.weight, classifier\.bias\]/)
    assert.match(report.warnings.join('\n'), /were not used when initializing DistilBertForSequenceClassification/)
    assert.deepEqual(model.parameter('distilbert.transformer.layer.1.ffn.lin2.weight').read(), sd.get('distilbert.transformer.layer.1.ffn.lin2.weight')!.data)
    assert.ok(model.parameter('classifier.bias').read().every((v) => v === 0))
    assert.equal(model.numLabels, 2)
    const again = await loadPretrained(folder, { seed: 11 })
    assert.deepEqual(again.model.parameter('classifier.weight').read(), model.parameter('classifier.weight').read())
    for (const m of [base, model, again.model]) m.dispose()
  })

  test('old BERT checkpoints with LayerNorm gamma/beta names load', async () => {
    const base = createRandomModel(parseModelConfig(TINY_BERT), { seed: 5 })
    const ckpt = new Map<string, { shape: number[]; data: Float32Array }>()
    for (const [k, v] of stateDict(base)) ckpt.set(k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), v)
    const folder = await writeCheckpoint('gamma', TINY_BERT, ckpt)
    const { model, report } = await loadPretrained(folder)
    assert.deepEqual(report.warnings, [])
    assert.ok(maxAbsDiff(logitsOf(model), logitsOf(base)) === 0)
    base.dispose()
    model.dispose()
  })

  test('a missing encoder weight is a ModelError naming it', async () => {
    const base = createRandomModel(parseModelConfig(TINY_DISTILBERT))
    const sd = stateDict(base)
    sd.delete('distilbert.transformer.layer.1.attention.k_lin.weight')
    const folder = await writeCheckpoint('missing', TINY_DISTILBERT, sd)
    await assert.rejects(loadPretrained(folder), (e: unknown) => {
      assert.ok(e instanceof ModelError)
      assert.match(e.message, /lacks 1 encoder weight\(s\) of DistilBertForSequenceClassification: distilbert\.transformer\.layer\.1\.attention\.k_lin\.weight/)
      return true
    })
    base.dispose()
  })

  test('a head of another size fails unless ignoreMismatchedSizes re-initialises it', async () => {
    const base = createRandomModel(parseModelConfig(TINY_DISTILBERT)) // 3 labels
    const folder = await writeCheckpoint('three', TINY_DISTILBERT, stateDict(base))
    await assert.rejects(loadPretrained(folder, { numLabels: 5 }), /classifier\.weight: checkpoint shape \[3,8\], model expects \[5,8\].*ignoreMismatchedSizes/)
    const { model, report } = await loadPretrained(folder, { numLabels: 5, ignoreMismatchedSizes: true })
    assert.equal(report.mismatchedKeys.length, 2)
    assert.deepEqual(model.parameter('classifier.weight').shape, [5, 8])
    base.dispose()
    model.dispose()
  })

  test('a folder without safetensors weights is a clear error', async () => {
    const folder = join(dir, 'empty')
    await saveModel(createRandomModel(parseModelConfig(TINY_BERT)), folder)
    await rm(join(folder, 'model.safetensors'))
    await writeFile(join(folder, 'pytorch_model.bin'), 'x')
    await assert.rejects(loadPretrained(folder), /PyTorch pickle checkpoints are not loaded/)
  })

  test('saves a transformers folder: config with architectures and labels, same names, format metadata', async () => {
    const model = createRandomModel(parseModelConfig(TINY_DISTILBERT), { seed: 9 })
    const folder = join(dir, 'saved')
    await saveModel(model, folder)
    const cfg = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'))
    assert.deepEqual(cfg.architectures, ['DistilBertForSequenceClassification'])
    assert.equal(cfg.model_type, 'distilbert')
    assert.deepEqual(cfg.id2label, { 0: 'neg', 1: 'pos', 2: 'neutral' })
    const st = await readSafetensors(join(folder, 'model.safetensors'))
    assert.deepEqual(st.metadata, { format: 'pt' })
    assert.deepEqual([...st.tensors.keys()].sort(), model.spec.params.map((p) => p.name).sort())
    model.dispose()
  })
})

describe('training mode, gradients and memory', () => {
  test('dropout is on in training mode, off in eval, and reproducible from a seed', () => {
    const model = createRandomModel(parseModelConfig(TINY_DISTILBERT), { seed: 6 })
    const evalA = logitsOf(model)
    assert.equal(maxAbsDiff(evalA, logitsOf(model)), 0)
    const { ids, mask } = inputs()
    const t1 = model.forward(ids, mask, null, { training: true, rng: new Rng(42) }).arraySync() as number[][]
    const t2 = model.forward(ids, mask, null, { training: true, rng: new Rng(42) }).arraySync() as number[][]
    const t3 = model.forward(ids, mask, null, { training: true, rng: new Rng(43) }).arraySync() as number[][]
    assert.equal(maxAbsDiff(t1, t2), 0)
    assert.ok(maxAbsDiff(t1, t3) > 1e-4)
    assert.ok(maxAbsDiff(t1, evalA) > 1e-4)
    model.dispose()
  })

  test('gradients reach exactly the trainable parameters', () => {
    const model = createRandomModel(parseModelConfig(TINY_BERT), { seed: 6 })
    model.setTrainable((p) => p.name.startsWith('classifier.') || p.name.includes('layer.1.output'))
    const { ids, mask } = inputs()
    const labels = tf.tensor1d([1, 0, 1], 'int32')
    const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(ids, mask), labels), model.trainableParameters())
    assert.deepEqual([...grads.keys()].sort(), model.trainableParameters().map((p) => p.name).sort())
    assert.equal(grads.size, 6)
    assert.ok(Number.isFinite(value.dataSync()[0]!))
    for (const g of grads.values()) assert.ok(g.dataSync().some((v) => v !== 0))
    tf.dispose([value, ids, mask, labels, ...grads.values()])
    model.dispose()
  })

  test('repeated forward and gradient passes leave no tensors behind', () => {
    const model = createRandomModel(parseModelConfig(TINY_DISTILBERT), { seed: 6 })
    model.setTrainable((p) => p.name.startsWith('classifier.'))
    const { ids, mask } = inputs()
    const labels = tf.tensor1d(BATCH.labels, 'int32')
    const step = () => {
      model.forward(ids, mask).dispose()
      model.forward(ids, mask, null, { training: true }).dispose()
      const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(ids, mask, null, { training: true }), labels), model.trainableParameters())
      tf.dispose([value, ...grads.values()])
    }
    step()
    const before = tf.memory().numTensors
    for (let i = 0; i < 3; i++) step()
    assert.equal(tf.memory().numTensors, before)
    tf.dispose([ids, mask, labels])
    model.dispose()
  })

  test('rejects inputs longer than max_position_embeddings and mismatched masks', () => {
    const model = createRandomModel(parseModelConfig(TINY_DISTILBERT))
    const long = tf.ones([1, 17], 'int32')
    assert.throws(() => model.forward(long, long), /sequence length 17 exceeds max_position_embeddings 16/)
    assert.throws(() => model.forward(tf.ones([1, 3], 'int32'), tf.ones([1, 4], 'int32')), /attentionMask shape \[1,4\] differs/)
    model.dispose()
  })
})

describe('golden parity with PyTorch (../shared fixtures)', () => {
  for (const [name, folder, golden] of [
    ['DistilBERT', 'tiny-distilbert', 'distilbert-lora.json'],
    ['BERT', 'tiny-bert', 'bert-lora.json'],
  ] as const) {
    test(`${name}: base logits within 1e-4 of transformers`, { skip: needsShared }, async () => {
      const g = JSON.parse(await readFile(shared('fixtures/golden', golden), 'utf8'))
      const { model, report } = await loadPretrained(shared('fixtures', folder))
      assert.deepEqual(report.warnings, [])
      const ids = tf.tensor2d(g.input_ids, undefined, 'int32')
      const mask = tf.tensor2d(g.attention_mask, undefined, 'int32')
      const logits = model.forward(ids, mask).arraySync() as number[][]
      assert.ok(maxAbsDiff(logits, g.base_logits) < 1e-4, `max diff ${maxAbsDiff(logits, g.base_logits)}`)
      tf.dispose([ids, mask])
      model.dispose()
    })
  }
})
