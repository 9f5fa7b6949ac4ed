// The Llama family (llama, mistral, qwen2) as lorapipe reads, loads, runs and trains it, without
// ../shared: config.json with transformers' defaults and clear refusals, the checkpoint folder
// (single file, shards, tied lm_head, bare LlamaModel), the checks on inputs, the causal-LM loss
// (transformers' shift and mean, the accumulation normaliser, evaluation sums independent of
// batching), positions for left padding, and LoRA on decoders (adapters, merge, task types).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, unlinkSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { selectBackend } from '../../src/backend/select.ts'
import { parseModelConfig } from '../../src/models/config.ts'
import { ModelConfigError } from '../../src/models/config-fields.ts'
import type { LlamaConfig } from '../../src/models/llama.ts'
import { createRandomCausalLm, loadCausalLm, loadPretrained, saveModel } from '../../src/models/load.ts'
import { ModelError } from '../../src/models/error.ts'
import type { CausalLm, LabelledDecoderInputs } from '../../src/models/causal-lm.ts'
import { causalLmLoss, causalLmLossSums, labelledTokens } from '../../src/models/causal-lm-loss.ts'
import { injectLora } from '../../src/lora/inject.ts'
import { loraSettings } from '../../src/lora/peft-config.ts'
import { loadAdapter, saveAdapter } from '../../src/lora/adapter.ts'
import { mergeLora, saveMergedModel, unmergeLora } from '../../src/lora/merge.ts'
import { LoraError } from '../../src/lora/error.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { Rng } from '../../src/nn/rng.ts'
import { writeSafetensors } from '../../src/safetensors/write.ts'

let dir = ''
before(async () => {
  await selectBackend({ backend: 'wasm', threads: 2, env: { LORAPIPE_BLAS: 'off' } })
  dir = mkdtempSync(join(tmpdir(), 'llama-'))
})
after(() => rmSync(dir, { recursive: true, force: true }))

const TINY = {
  model_type: 'llama',
  vocab_size: 30,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 32,
  initializer_range: 0.3,
  pad_token_id: 0,
}

/** Rows of different lengths, right-padded with 0; labels -100 on the first `prompt` tokens and on padding. */
function batchOf(rows: number[][], prompt = 1): LabelledDecoderInputs {
  const L = Math.max(...rows.map((r) => r.length))
  const flat = (f: (r: number[], t: number) => number, pad: number) => Int32Array.from(rows.flatMap((r) => Array.from({ length: L }, (_, t) => (t < r.length ? f(r, t) : pad))))
  return {
    batchSize: rows.length,
    seqLen: L,
    inputIds: flat((r, t) => r[t]!, 0),
    attentionMask: flat(() => 1, 0),
    labels: flat((r, t) => (t < prompt ? -100 : r[t]!), -100),
  }
}
const ROWS = [[1, 5, 9, 13, 17, 21, 2], [1, 7, 8, 2], [1, 29, 3, 4, 6]]

function logitsOf(model: CausalLm, b: LabelledDecoderInputs): Float32Array {
  const t = model.logits(b)
  const v = t.dataSync() as Float32Array
  t.dispose()
  return v
}
const scalar = (t: tf.Scalar) => {
  const v = t.dataSync()[0]!
  t.dispose()
  return v
}
function maxDiffAt(a: ArrayLike<number>, b: ArrayLike<number>, batch: LabelledDecoderInputs, V: number): number {
  let m = 0
  for (let f = 0; f < batch.batchSize * batch.seqLen; f++) if (batch.attentionMask[f]) for (let k = 0; k < V; k++) m = Math.max(m, Math.abs(a[f * V + k]! - b[f * V + k]!))
  return m
}

describe('decoder config.json', () => {
  test('reads transformers\' defaults per model type: key/value heads, head_dim, biases, tied lm_head, windows', () => {
    const l = parseModelConfig({ model_type: 'llama', vocab_size: 100, hidden_size: 64, num_attention_heads: 8, num_hidden_layers: 2, intermediate_size: 32 }) as LlamaConfig
    assert.deepEqual([l.numKeyValueHeads, l.headDim, l.rmsNormEps, l.ropeTheta, l.maxPositionEmbeddings, l.tieWordEmbeddings], [8, 8, 1e-6, 10000, 2048, false])
    assert.deepEqual([l.qkvBias, l.oBias, l.mlpBias, l.layerWindows], [false, false, false, [null, null]])
    const q = parseModelConfig({ model_type: 'qwen2', vocab_size: 100, hidden_size: 64, num_attention_heads: 8, num_key_value_heads: 2, num_hidden_layers: 3, intermediate_size: 32, tie_word_embeddings: true }) as LlamaConfig
    assert.deepEqual([q.qkvBias, q.oBias, q.mlpBias, q.tieWordEmbeddings, q.layerWindows], [true, false, false, true, [null, null, null]])
    const qw = parseModelConfig({ ...TINY, model_type: 'qwen2', num_hidden_layers: 3, use_sliding_window: true, sliding_window: 8, max_window_layers: 1 }) as LlamaConfig
    assert.deepEqual(qw.layerWindows, [null, 8, 8])
    const m = parseModelConfig({ ...TINY, model_type: 'mistral', sliding_window: 6 }) as LlamaConfig
    assert.deepEqual(m.layerWindows, [6, 6])
    assert.deepEqual((parseModelConfig({ ...TINY, model_type: 'mistral', sliding_window: null }) as LlamaConfig).layerWindows, [null, null])
    const lt = parseModelConfig({ ...TINY, sliding_window: 4, layer_types: ['sliding_attention', 'full_attention'] }) as LlamaConfig
    assert.deepEqual(lt.layerWindows, [4, null])
    const b = parseModelConfig({ ...TINY, attention_bias: true, mlp_bias: true, head_dim: 6 }) as LlamaConfig
    assert.deepEqual([b.qkvBias, b.oBias, b.mlpBias, b.headDim], [true, true, true, 6])
  })

  test('reads rope_scaling (linear, llama3), and transformers v5\'s rope_parameters', () => {
    const l3 = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }
    const a = parseModelConfig({ ...TINY, rope_theta: 500000, rope_scaling: l3 }) as LlamaConfig
    assert.deepEqual([a.ropeTheta, a.ropeScaling], [500000, { kind: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }])
    const v5 = parseModelConfig({ ...TINY, rope_parameters: { ...l3, rope_theta: 500000 } }) as LlamaConfig
    assert.deepEqual([v5.ropeTheta, v5.ropeScaling], [a.ropeTheta, a.ropeScaling])
    const lin = parseModelConfig({ ...TINY, rope_scaling: { type: 'linear', factor: 2 } }) as LlamaConfig
    assert.deepEqual(lin.ropeScaling, { kind: 'linear', factor: 2 })
    const dflt = parseModelConfig({ ...TINY, rope_parameters: { rope_type: 'default', rope_theta: 1000 } }) as LlamaConfig
    assert.deepEqual([dflt.ropeTheta, dflt.ropeScaling], [1000, null])
  })

  test('refuses what it cannot run, naming the file, the key and what is supported', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ model_type: 'gemma' }, /"model_type" must be "distilbert", "bert", "llama", "mistral" or "qwen2", found "gemma"/],
      [{ ...TINY, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /"rope_scaling" type "yarn" is not supported \(supported: linear, llama3, or none\)/],
      [{ ...TINY, rope_scaling: { type: 'dynamic', factor: 2 } }, /"rope_scaling" type "dynamic" is not supported/],
      [{ ...TINY, rope_parameters: { rope_type: 'longrope', rope_theta: 10000 } }, /"rope_parameters" type "longrope" is not supported/],
      [{ ...TINY, rope_scaling: { rope_type: 'llama3', factor: 8 } }, /"rope_scaling.low_freq_factor" must be a positive number/],
      [{ ...TINY, hidden_act: 'gelu' }, /"hidden_act": "gelu" is not supported \(the llama family uses "silu"\)/],
      [{ ...TINY, num_key_value_heads: 3 }, /"num_attention_heads" \(4\) must be a multiple of "num_key_value_heads" \(3\)/],
      [{ ...TINY, hidden_size: 18 }, /"hidden_size" \(18\) must be divisible by "num_attention_heads" \(4\) when "head_dim" is not set/],
      [{ ...TINY, head_dim: 5 }, /the head dimension \(5\) must be even/],
      [{ ...TINY, partial_rotary_factor: 0.5 }, /"partial_rotary_factor": 0.5 is not supported/],
      [{ ...TINY, layer_types: ['full_attention'] }, /"layer_types" must list "full_attention" or "sliding_attention" for each of the 2 layers/],
      [{ ...TINY, pad_token_id: 30 }, /"pad_token_id" \(30\) must be below "vocab_size" \(30\)/],
      [{ ...TINY, tie_word_embeddings: 'yes' }, /"tie_word_embeddings" must be true or false/],
    ]
    for (const [raw, re] of cases) {
      assert.throws(() => parseModelConfig(raw, 'my/config.json'), (e: unknown) => e instanceof ModelConfigError && e.message.startsWith('my/config.json: ') && re.test(e.message), JSON.stringify(raw))
    }
  })
})

describe('decoder checkpoints', () => {
  test('save and load round-trip a model: same logits; the parameter names are transformers\'', async () => {
    const model = createRandomCausalLm(parseModelConfig({ ...TINY, attention_bias: true }), { seed: 3 })
    const out = join(dir, 'roundtrip')
    await saveModel(model, out)
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))
    assert.deepEqual(saved.architectures, ['LlamaForCausalLM'])
    assert.equal(saved.id2label, undefined, 'a causal LM config gets no classifier labels')
    const { model: back, report } = await loadCausalLm(out)
    assert.deepEqual(report.warnings, [])
    const b = batchOf(ROWS)
    assert.equal(maxDiffAt(logitsOf(model, b), logitsOf(back, b), b, 30), 0)
    assert.deepEqual(back.spec.params.slice(0, 6).map((p) => p.name), [
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.q_proj.bias',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.k_proj.bias',
      'model.layers.0.self_attn.v_proj.weight',
    ])
    assert.equal(back.spec.params.at(-1)!.name, 'lm_head.weight')
  })

  test('a tied lm_head is the embedding matrix: absent from the file, or present and ignored; a bare LlamaModel file loads too', async () => {
    const model = createRandomCausalLm(parseModelConfig({ ...TINY, model_type: 'qwen2', tie_word_embeddings: true }), { seed: 4 })
    const out = join(dir, 'tied')
    await saveModel(model, out)
    const b = batchOf(ROWS)
    const want = logitsOf(model, b)
    const { model: m1 } = await loadCausalLm(out)
    assert.equal(maxDiffAt(want, logitsOf(m1, b), b, 30), 0)
    assert.equal(m1.parameter('lm_head.weight'), m1.parameter('model.embed_tokens.weight'))
    // With lm_head.weight in the file as well (some tools save it)
    const tensors = new Map(model.spec.params.map((p) => [p.name, { shape: p.shape, data: model.parameter(p.name).read() }]))
    tensors.set('lm_head.weight', { shape: [30, 16], data: model.parameter('model.embed_tokens.weight').read() })
    await writeSafetensors(join(out, 'model.safetensors'), tensors)
    const { model: m2, report } = await loadCausalLm(out)
    assert.deepEqual(report.unexpectedKeys, [])
    assert.equal(maxDiffAt(want, logitsOf(m2, b), b, 30), 0)
    // Qwen2Model's own file: no `model.` prefix, no head
    const bare = new Map(model.spec.params.map((p) => [p.name.replace(/^model\./, ''), { shape: p.shape, data: model.parameter(p.name).read() }]))
    await writeSafetensors(join(out, 'model.safetensors'), bare)
    const { model: m3 } = await loadCausalLm(out)
    assert.equal(maxDiffAt(want, logitsOf(m3, b), b, 30), 0)
  })

  test('an untied model without lm_head.weight is refused, naming it', async () => {
    const model = createRandomCausalLm(parseModelConfig(TINY))
    const out = join(dir, 'nohead')
    await saveModel(model, out)
    const tensors = new Map(model.spec.params.filter((p) => p.name !== 'lm_head.weight').map((p) => [p.name, { shape: p.shape, data: model.parameter(p.name).read() }]))
    await writeSafetensors(join(out, 'model.safetensors'), tensors)
    await assert.rejects(loadCausalLm(out), (e: unknown) => e instanceof ModelError && /lacks 1 weight\(s\) of LlamaForCausalLM: lm_head\.weight/.test(e.message))
  })

  test('sharded weights load from model.safetensors.index.json; a missing shard, a stray name or a tensor absent from its shard is refused', async () => {
    const model = createRandomCausalLm(parseModelConfig(TINY), { seed: 5 })
    const out = join(dir, 'sharded')
    mkdirSync(out)
    await saveModel(model, join(dir, 'single'))
    copyFileSync(join(dir, 'single', 'config.json'), join(out, 'config.json'))
    const names = model.spec.params.map((p) => p.name)
    const shardOf = (n: string) => (n.startsWith('model.layers.1.') || n === 'lm_head.weight' ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors')
    for (const shard of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      const part = new Map(names.filter((n) => shardOf(n) === shard).map((n) => [n, { dtype: 'BF16' as const, shape: model.parameter(n).shape, data: model.parameter(n).read() }]))
      await writeSafetensors(join(out, shard), part, { format: 'pt' })
    }
    const index = { metadata: {}, weight_map: Object.fromEntries(names.map((n) => [n, shardOf(n)])) }
    writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify(index))
    const { model: back } = await loadCausalLm(out)
    const b = batchOf(ROWS)
    // BF16 keeps 8 bits of mantissa: close, not equal
    const diff = maxDiffAt(logitsOf(model, b), logitsOf(back, b), b, 30)
    assert.ok(diff > 0 && diff < 0.05, `BF16 shards give logits ${diff} away`)

    writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...index.weight_map, extra: 'model-00003-of-00003.safetensors' } }))
    await assert.rejects(loadCausalLm(out), /1 of the 3 shards that model\.safetensors\.index\.json lists is missing: model-00003-of-00003\.safetensors/)
    writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...index.weight_map, extra: '../../etc/passwd.safetensors' } }))
    await assert.rejects(loadCausalLm(out), /weight_map names "\.\.\/\.\.\/etc\/passwd\.safetensors", not a \.safetensors file name in this folder/)
    writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...index.weight_map, 'model.norm.bias': 'model-00001-of-00002.safetensors' } }))
    await assert.rejects(loadCausalLm(out), /1 tensor\(s\) it lists are not in their shard: model\.norm\.bias \(model-00001-of-00002\.safetensors\)/)
    writeFileSync(join(out, 'model.safetensors.index.json'), '{"weight_map": [1]}')
    await assert.rejects(loadCausalLm(out), /not a valid shard index/)
    unlinkSync(join(out, 'model.safetensors.index.json'))
  })

  test('a decoder folder is not a sequence classifier, and the other way round: the task is named', async () => {
    const model = createRandomCausalLm(parseModelConfig(TINY))
    await saveModel(model, join(dir, 'dec'))
    await assert.rejects(loadPretrained(join(dir, 'dec')), /LlamaForCausalLM \(model_type "llama"\) is a causal-lm model, not a sequence-classification model \(model\.task\)/)
    assert.throws(() => createRandomCausalLm(parseModelConfig({ model_type: 'bert', vocab_size: 10, hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8 })), /is a sequence-classification model, not a causal-lm model/)
  })
})

describe('decoder inputs', () => {
  const model = () => createRandomCausalLm(parseModelConfig(TINY), { seed: 1 })
  test('a token id outside the vocabulary says the tokenizer and the model do not match', () => {
    const b = batchOf([[1, 2, 30]])
    assert.throws(() => model().logits(b), (e: unknown) => e instanceof ModelError && /token id 30 at row 0, position 2 is outside the model's vocabulary \(30 tokens\): the tokenizer and the model do not match/.test(e.message))
  })
  test('a label outside the vocabulary, and a position past max_position_embeddings, are refused', () => {
    const b = { ...batchOf([[1, 2, 3]]), labels: Int32Array.from([-100, 2, 99]) }
    assert.throws(() => model().tokenLosses(b), /label 99 at row 0, position 2 is neither -100 nor a token id/)
    const long = batchOf([Array.from({ length: 33 }, () => 3)])
    assert.throws(() => model().logits(long), /position 32 at row 0, position 32 is beyond max_position_embeddings \(32\); truncate the inputs/)
  })
  test('left padding with positions cumsum(mask) - 1 gives each real token the logits of the unpadded row', () => {
    const m = model()
    const row = [1, 5, 9, 13, 2]
    const alone = batchOf([row])
    const padded: LabelledDecoderInputs = {
      batchSize: 1,
      seqLen: 8,
      inputIds: Int32Array.from([0, 0, 0, ...row]),
      attentionMask: Int32Array.from([0, 0, 0, 1, 1, 1, 1, 1]),
      positionIds: Int32Array.from([1, 1, 1, 0, 1, 2, 3, 4]),
      labels: new Int32Array(8).fill(-100),
    }
    const a = logitsOf(m, alone)
    const p = logitsOf(m, padded)
    let max = 0
    for (let t = 0; t < 5; t++) for (let k = 0; k < 30; k++) max = Math.max(max, Math.abs(a[t * 30 + k]! - p[(t + 3) * 30 + k]!))
    assert.ok(max < 1e-5, `differs by ${max}`)
  })
})

describe('causal-LM loss', () => {
  const cfg = () => parseModelConfig(TINY)
  test('is the mean over labelled tokens of the cross-entropy of logits[t] against labels[t + 1]', () => {
    const m = createRandomCausalLm(cfg(), { seed: 2 })
    const b = batchOf(ROWS, 2)
    const lg = logitsOf(m, b)
    let sum = 0
    let n = 0
    for (let r = 0; r < b.batchSize; r++) {
      for (let t = 0; t + 1 < b.seqLen; t++) {
        const y = b.labels[r * b.seqLen + t + 1]!
        if (y === -100) continue
        const row = Array.from(lg.subarray((r * b.seqLen + t) * 30, (r * b.seqLen + t + 1) * 30))
        const mx = Math.max(...row)
        sum += mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) - row[y]!
        n++
      }
    }
    assert.equal(n, labelledTokens(b.labels, b.batchSize, b.seqLen))
    assert.equal(n, 5 + 2 + 3)
    assert.ok(Math.abs(scalar(causalLmLoss(m, b)) - sum / n) < 1e-5)
    const sums = causalLmLossSums(m, b)
    assert.equal(sums.tokens, n)
    assert.ok(Math.abs(sums.lossSum - sum) < 1e-4)
    assert.deepEqual([...sums.perRow.tokens], [5, 2, 3])
  })

  test('accumulated micro-batches divided by all their labelled tokens give the full batch\'s mean loss and gradient', () => {
    const m = createRandomCausalLm(cfg(), { seed: 6 })
    const lora = injectLora(m, loraSettings({ r: 2, alpha: 4, target_modules: 'all-linear', task_type: 'CAUSAL_LM' }), { seed: 1 })
    for (const l of lora.layers.values()) l.B.assign(new Rng(9).fillNormal(l.B.size, 0, 0.3))
    const params = m.trainableParameters()
    const full = batchOf(ROWS, 2)
    const parts = [batchOf(ROWS.slice(0, 2), 2), batchOf(ROWS.slice(2), 2)]
    const total = parts.reduce((n, p) => n + labelledTokens(p.labels, p.batchSize, p.seqLen), 0)
    const whole = valueAndGrads(() => causalLmLoss(m, full, { training: true }), params)
    let loss = 0
    const acc = new Map<string, Float32Array>()
    for (const p of parts) {
      const step = valueAndGrads(() => causalLmLoss(m, p, { training: true, numItemsInBatch: total }), params)
      loss += scalar(step.value)
      for (const [k, g] of step.grads) {
        const v = g.dataSync() as Float32Array
        const a = acc.get(k) ?? new Float32Array(v.length)
        v.forEach((x, i) => (a[i]! += x))
        acc.set(k, a)
        g.dispose()
      }
    }
    const wholeLoss = scalar(whole.value)
    assert.ok(Math.abs(loss - wholeLoss) < 1e-5, `accumulated loss ${loss} vs ${wholeLoss}`)
    let max = 0
    for (const [k, g] of whole.grads) {
      const v = g.dataSync()
      v.forEach((x, i) => (max = Math.max(max, Math.abs(x - acc.get(k)![i]!))))
    }
    assert.ok(max < 1e-6, `accumulated gradient differs by ${max}`)
    // The mean of the micro-batch means is another number (transformers before 4.46): 5 + 2 tokens vs 3
    const meanOfMeans = parts.map((p) => scalar(causalLmLoss(m, p))).reduce((a, b) => a + b) / 2
    assert.ok(Math.abs(meanOfMeans - loss) > 1e-4, `mean of means ${meanOfMeans} vs ${loss}`)
  })

  test('evaluation sums do not depend on the batching', () => {
    const m = createRandomCausalLm(cfg(), { seed: 8 })
    const one = causalLmLossSums(m, batchOf(ROWS, 2))
    const split = ROWS.map((r) => causalLmLossSums(m, batchOf([r], 2)))
    assert.equal(split.reduce((n, s) => n + s.tokens, 0), one.tokens)
    assert.ok(Math.abs(split.reduce((n, s) => n + s.lossSum, 0) - one.lossSum) < 1e-5)
  })

  test('a batch without labelled tokens gives 0 and zero gradients', () => {
    const m = createRandomCausalLm(cfg(), { seed: 8 })
    injectLora(m, loraSettings({ r: 2, task_type: 'CAUSAL_LM' }))
    const b = { ...batchOf(ROWS), labels: new Int32Array(3 * 7).fill(-100) }
    const { value, grads } = valueAndGrads(() => causalLmLoss(m, b, { training: true, numItemsInBatch: 10 }), m.trainableParameters())
    assert.equal(scalar(value), 0)
    for (const g of grads.values()) assert.ok((g.dataSync() as Float32Array).every((x) => x === 0))
    assert.deepEqual(causalLmLossSums(m, b).tokens, 0)
  })

  test('full fine-tuning trains every weight but the padding row of the embeddings', () => {
    const m = createRandomCausalLm(cfg(), { seed: 8 })
    m.setTrainable(() => true)
    const b = batchOf([[1, 0, 5, 0, 7]], 0) // pad id 0 inside the row, as a real token
    const { value, grads } = valueAndGrads(() => causalLmLoss(m, b, { training: true }), m.trainableParameters())
    value.dispose()
    const emb = grads.get('model.embed_tokens.weight')!.arraySync() as number[][]
    assert.ok(emb[0]!.every((x) => x === 0), 'padding_idx row')
    assert.ok(emb[5]!.some((x) => x !== 0))
    assert.ok((grads.get('lm_head.weight')!.dataSync() as Float32Array).some((x) => x !== 0))
  })
})

describe('LoRA on decoders', () => {
  const tied = () => createRandomCausalLm(parseModelConfig({ ...TINY, model_type: 'qwen2', tie_word_embeddings: true }), { seed: 11 })
  test('merging keeps the LoRA model\'s logits, unmerging restores the base weights; the merged folder loads as a plain model', async () => {
    const m = tied()
    const b = batchOf(ROWS)
    const base = logitsOf(m, b)
    const lora = injectLora(m, loraSettings({ r: 2, alpha: 4, target_modules: 'all-linear', task_type: 'CAUSAL_LM' }), { seed: 2 })
    for (const l of lora.layers.values()) l.B.assign(new Rng(3).fillNormal(l.B.size, 0, 0.3))
    const adapted = logitsOf(m, b)
    assert.ok(maxDiffAt(base, adapted, b, 30) > 1e-3, 'the adapter changes the logits')
    mergeLora(lora)
    assert.ok(lora.merged)
    const mergedDiff = maxDiffAt(adapted, logitsOf(m, b), b, 30)
    assert.ok(mergedDiff < 1e-5, `merged logits differ by ${mergedDiff}`)
    await saveMergedModel(lora, join(dir, 'merged'))
    const { model: merged } = await loadCausalLm(join(dir, 'merged'))
    assert.ok(maxDiffAt(adapted, logitsOf(merged, b), b, 30) < 1e-5, 'the saved merged model')
    const q = 'model.layers.1.self_attn.q_proj.weight'
    const before = merged.parameter(q).read()
    unmergeLora(lora)
    const unmerged = maxDiffAt(adapted, logitsOf(m, b), b, 30)
    assert.ok(unmerged < 1e-5, `unmerged logits differ by ${unmerged}`)
    const w = m.parameter(q).read()
    assert.ok(before.some((v, i) => Math.abs(v - w[i]!) > 1e-3), 'the merged weight differs from the base weight')
    lora.remove()
    const removed = maxDiffAt(base, logitsOf(m, b), b, 30)
    assert.ok(removed < 1e-5, `base logits after unmerge and removal differ by ${removed}`)
  })

  test('an adapter is saved with task_type CAUSAL_LM, loads back to the same logits, and does not load into a classifier', async () => {
    const m = tied()
    const lora = injectLora(m, loraSettings({ r: 2, alpha: 8, target_modules: ['q_proj', 'down_proj'] }), { seed: 2 })
    for (const l of lora.layers.values()) l.B.assign(new Rng(4).fillNormal(l.B.size, 0, 0.3))
    const b = batchOf(ROWS)
    const want = logitsOf(m, b)
    const out = join(dir, 'adapter')
    await saveAdapter(lora, out, { baseModelNameOrPath: 'tiny' })
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'))
    assert.equal(cfg.task_type, 'CAUSAL_LM')
    assert.deepEqual(cfg.target_modules, ['down_proj', 'q_proj'])
    const fresh = tied()
    await loadAdapter(fresh, out)
    assert.ok(maxDiffAt(want, logitsOf(fresh, b), b, 30) < 1e-6)
    const { createRandomModel } = await import('../../src/models/load.ts')
    const bert = createRandomModel(parseModelConfig({ model_type: 'bert', vocab_size: 10, hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8 }))
    await assert.rejects(loadAdapter(bert, out), (e: unknown) => e instanceof LoraError && /task_type CAUSAL_LM does not fit BertForSequenceClassification, a sequence-classification model \(SEQ_CLS\)/.test(e.message))
  })

  test('modules_to_save lm_head (untied) is trained fully and saved in the adapter', async () => {
    const m = createRandomCausalLm(parseModelConfig(TINY), { seed: 12 })
    const lora = injectLora(m, loraSettings({ r: 2, target_modules: ['q_proj'], modules_to_save: ['lm_head'], task_type: 'CAUSAL_LM' }))
    assert.ok(m.parameter('lm_head.weight').trainable)
    assert.ok(!m.parameter('model.embed_tokens.weight').trainable)
    const { value, grads } = valueAndGrads(() => causalLmLoss(m, batchOf(ROWS), { training: true }), m.trainableParameters())
    value.dispose()
    assert.ok((grads.get('lm_head.weight')!.dataSync() as Float32Array).some((x) => x !== 0))
    await saveAdapter(lora, join(dir, 'mts'))
    const cfg = JSON.parse(readFileSync(join(dir, 'mts', 'adapter_config.json'), 'utf8'))
    assert.deepEqual(cfg.modules_to_save, ['lm_head'])
  })

  test('attention dropout applies in training only, from the seeded stream', () => {
    const m = createRandomCausalLm(parseModelConfig({ ...TINY, attention_dropout: 0.5 }), { seed: 13 })
    const b = batchOf(ROWS)
    const evalA = scalar(causalLmLoss(m, b))
    assert.equal(scalar(causalLmLoss(m, b)), evalA)
    const t1 = scalar(causalLmLoss(m, b, { training: true, rng: new Rng(1) }))
    const t2 = scalar(causalLmLoss(m, b, { training: true, rng: new Rng(1) }))
    assert.equal(t1, t2)
    assert.notEqual(t1, evalA)
  })
})
