import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { BATCH, TINY_BERT, TINY_DISTILBERT, maxAbsDiff, referenceBert, referenceDistilbert, useBackend } from '../models/support.ts'
import { parseModelConfig, readModelConfig } from '../../src/models/config.ts'
import { createRandomModel, loadPretrained } from '../../src/models/load.ts'
import { modelSpec } from '../../src/models/families.ts'
import type { SequenceClassifier } from '../../src/models/classifier.ts'
import { loraFromPeft, loraSettings, type LoraSettings } from '../../src/lora/peft-config.ts'
import { countPlannedParameters, formatParameterCount, injectLora, planLora, type LoraModel } from '../../src/lora/inject.ts'
import { adapterKeyToParam, initFromAdapter, loadAdapter, saveAdapter } from '../../src/lora/adapter.ts'
import { mergeLora, saveMergedModel, unmergeLora } from '../../src/lora/merge.ts'
import { LoraError } from '../../src/lora/error.ts'
import { readSafetensors } from '../../src/safetensors/read.ts'
import { writeSafetensors } from '../../src/safetensors/write.ts'
import { valueAndGrads } from '../../src/nn/grads.ts'
import { crossEntropy } from '../../src/nn/loss.ts'
import { Rng } from '../../src/nn/rng.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

let dir = ''
before(async () => {
  await useBackend('cpu')
  dir = await mkdtemp(join(tmpdir(), 'lora-'))
})
after(() => rm(dir, { recursive: true, force: true }))

const distil = () => parseModelConfig(TINY_DISTILBERT)
const bert = () => parseModelConfig(TINY_BERT)

function logits(model: SequenceClassifier): number[][] {
  const ids = tf.tensor2d(BATCH.ids, undefined, 'int32')
  const mask = tf.tensor2d(BATCH.mask, undefined, 'int32')
  const out = model.forward(ids, mask)
  const v = out.arraySync() as number[][]
  tf.dispose([ids, mask, out])
  return v
}

/** Gives every LoRA B random values so the LoRA term is not zero. */
function randomiseB(lora: LoraModel, seed: number): void {
  const rng = new Rng(seed)
  for (const l of lora.layers.values()) l.B.assign(rng.fillNormal(l.B.size, 0, 0.3))
}

describe('LoRA targeting (PEFT LoraConfig semantics)', () => {
  const spec = modelSpec(distil())
  const targets = (c: Partial<LoraSettings>) => planLora(spec, 'distilbert', loraSettings(c)).targets.map((t) => t.path)

  test('a list matches a module path exactly or as its last dotted part', () => {
    assert.deepEqual(targets({ target_modules: ['q_lin', 'v_lin'] }), [
      'distilbert.transformer.layer.0.attention.q_lin',
      'distilbert.transformer.layer.0.attention.v_lin',
      'distilbert.transformer.layer.1.attention.q_lin',
      'distilbert.transformer.layer.1.attention.v_lin',
    ])
    assert.deepEqual(targets({ target_modules: ['layer.1.ffn.lin1'] }), ['distilbert.transformer.layer.1.ffn.lin1'])
    assert.deepEqual(targets({ target_modules: ['pre_classifier'], modules_to_save: [] }), ['pre_classifier'])
  })

  test('a string is a regular expression that must match the whole path (re.fullmatch)', () => {
    assert.deepEqual(targets({ target_modules: '.*layer\\.0\\..*_lin' }), [
      'distilbert.transformer.layer.0.attention.q_lin',
      'distilbert.transformer.layer.0.attention.k_lin',
      'distilbert.transformer.layer.0.attention.v_lin',
      'distilbert.transformer.layer.0.attention.out_lin',
    ])
    assert.throws(() => targets({ target_modules: 'q_lin' }), /regex "q_lin" matches no linear module \(it must match the whole path\)/)
  })

  test('all-linear takes every linear layer except the output head and modules_to_save', () => {
    const t = targets({ target_modules: 'all-linear' })
    assert.equal(t.length, 12 + 1)
    assert.ok(t.includes('pre_classifier') && !t.includes('classifier'))
    assert.equal(targets({ target_modules: 'all-linear', modules_to_save: ['pre_classifier'] }).length, 12)
  })

  test('PEFT default targets per model type when target_modules is not set', () => {
    assert.equal(targets({}).filter((p) => p.endsWith('q_lin') || p.endsWith('v_lin')).length, 4)
    assert.deepEqual(planLora(modelSpec(bert()), 'bert', loraSettings({})).targets.map((t) => t.path.split('.').pop()), ['query', 'value', 'query', 'value'])
  })

  test('a target name that matches nothing is a LoraError listing the linear modules', () => {
    assert.throws(() => targets({ target_modules: ['q_lin', 'qlin'] }), (e: unknown) => {
      assert.ok(e instanceof LoraError)
      assert.match(e.message, /target_modules "qlin" matches no linear module; linear modules of this model: distilbert\.transformer\.layer\.0\.attention\.q_lin, /)
      return true
    })
    assert.throws(() => targets({ target_modules: ['word_embeddings'] }), /not linear; LoRA applies to linear layers only/)
    assert.throws(() => targets({ target_modules: ['classifier'] }), /cannot be both a LoRA target and in modules_to_save/)
  })

  test('layers_to_transform (with or without layers_pattern) restricts list targets to those layers', () => {
    assert.deepEqual(targets({ target_modules: ['q_lin'], layers_to_transform: [1] }), ['distilbert.transformer.layer.1.attention.q_lin'])
    assert.deepEqual(targets({ target_modules: ['q_lin'], layers_to_transform: 0, layers_pattern: 'layer' }), ['distilbert.transformer.layer.0.attention.q_lin'])
    assert.throws(() => targets({ target_modules: ['q_lin'], layers_to_transform: [5] }), /leaves no target module/)
  })

  test('rank_pattern / alpha_pattern override r and alpha per module; rslora scales by alpha/sqrt(r)', () => {
    const plan = planLora(spec, 'distilbert', loraSettings({ target_modules: ['q_lin', 'v_lin'], r: 8, alpha: 16, rank_pattern: { 'layer.1.attention.q_lin': 2 }, alpha_pattern: { v_lin: 4 } }))
    const by = new Map(plan.targets.map((t) => [t.path, t]))
    assert.equal(by.get('distilbert.transformer.layer.1.attention.q_lin')!.r, 2)
    assert.equal(by.get('distilbert.transformer.layer.1.attention.q_lin')!.scaling, 8)
    assert.equal(by.get('distilbert.transformer.layer.0.attention.q_lin')!.scaling, 2)
    assert.equal(by.get('distilbert.transformer.layer.0.attention.v_lin')!.scaling, 0.5)
    const rs = planLora(spec, 'distilbert', loraSettings({ r: 4, alpha: 8, use_rslora: true }))
    assert.equal(rs.targets[0]!.scaling, 4)
  })

  test('bias none / all / lora_only and modules_to_save decide the trainable base parameters', () => {
    const base = (c: Partial<LoraSettings>) => planLora(spec, 'distilbert', loraSettings({ target_modules: ['q_lin'], ...c })).trainableBaseParams
    assert.deepEqual(base({}), ['classifier.weight', 'classifier.bias'], 'SEQ_CLS always trains the classifier, as PEFT')
    assert.deepEqual(base({ modules_to_save: ['pre_classifier'] }), ['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias'])
    assert.deepEqual(base({ bias: 'lora_only' }), ['distilbert.transformer.layer.0.attention.q_lin.bias', 'distilbert.transformer.layer.1.attention.q_lin.bias', 'classifier.weight', 'classifier.bias'])
    assert.equal(base({ bias: 'all' }).filter((n) => n.endsWith('.bias')).length, spec.params.filter((p) => p.name.endsWith('.bias')).length)
    assert.throws(() => base({ modules_to_save: ['pooler'] }), /modules_to_save "pooler" matches no module/)
  })

  test('rejects invalid settings', () => {
    assert.throws(() => loraFromPeft({ r: 0 }), /r must be a positive integer/)
    assert.throws(() => loraFromPeft({ lora_dropout: 1 }), /lora_dropout must be in \[0, 1\)/)
    assert.throws(() => loraFromPeft({ target_modules: '(' }), /not a valid regular expression/)
    assert.throws(() => loraFromPeft({ peft_type: 'IA3' }), /only LORA adapters/)
    assert.throws(() => loraFromPeft({ peft_type: 'LORA', use_dora: true }), /DoRA/)
  })
})

describe('parameter counts', () => {
  // The published distilbert-base-uncased config.json, as the fixture holds it.
  const DISTILBERT_BASE = {
    activation: 'gelu', architectures: ['DistilBertForMaskedLM'], attention_dropout: 0.1, dim: 768, dropout: 0.1,
    hidden_dim: 3072, initializer_range: 0.02, max_position_embeddings: 512, model_type: 'distilbert', n_heads: 12,
    n_layers: 6, pad_token_id: 0, qa_dropout: 0.1, seq_classif_dropout: 0.2, sinusoidal_pos_embds: false,
    tie_weights_: true, vocab_size: 30522,
  }
  const SEED_RECIPE = loraSettings({ r: 8, alpha: 16, dropout: 0.05, target_modules: ['q_lin', 'v_lin'], modules_to_save: ['pre_classifier', 'classifier'] })
  const expected = 'trainable params: 739,586 || all params: 67,102,466 || trainable%: 1.1022'

  test('the seed recipe on DistilBERT-base shapes: 739,586 trainable of 67,102,466 (config written by the test)', async () => {
    const path = join(dir, 'distilbert-base.config.json')
    await writeFile(path, JSON.stringify(DISTILBERT_BASE))
    const cfg = await readModelConfig(path, { numLabels: 2 })
    const count = countPlannedParameters(modelSpec(cfg), planLora(modelSpec(cfg), 'distilbert', SEED_RECIPE))
    assert.deepEqual(count, { trainable: 739_586, total: 67_102_466 })
    assert.equal(formatParameterCount(count), expected)
  })

  test('the same from the fixture config', { skip: needsShared }, async () => {
    const cfg = await readModelConfig(shared('fixtures/configs/distilbert-base-uncased.config.json'), { numLabels: 2 })
    assert.equal(formatParameterCount(countPlannedParameters(modelSpec(cfg), planLora(modelSpec(cfg), 'distilbert', SEED_RECIPE))), expected)
  })

  test('the planned count equals the count of a real injected model', () => {
    const model = createRandomModel(bert())
    const c = loraSettings({ r: 3, target_modules: 'all-linear', bias: 'lora_only' })
    const lora = injectLora(model, c)
    assert.deepEqual(lora.countParameters(), countPlannedParameters(model.spec, planLora(model.spec, 'bert', c)))
    assert.equal(lora.describe(), formatParameterCount(lora.countParameters()))
    model.dispose()
  })
})

describe('LoRA layers (no ../shared)', () => {
  test('injection: A Kaiming-uniform within 1/sqrt(in), B zero, output unchanged, only LoRA and head trainable', () => {
    const model = createRandomModel(distil(), { seed: 1 })
    const before = logits(model)
    const lora = injectLora(model, loraSettings({ r: 4, alpha: 8, target_modules: ['q_lin', 'v_lin', 'lin1'] }), { seed: 3 })
    for (const l of lora.layers.values()) {
      assert.ok(l.A.read().every((v) => Math.abs(v) <= 1 / Math.sqrt(l.A.shape[1]!)))
      assert.ok(l.A.read().some((v) => Math.abs(v) > 0.5 / Math.sqrt(l.A.shape[1]!)))
      assert.ok(l.B.read().every((v) => v === 0))
      assert.equal(l.scaling, 2)
    }
    assert.deepEqual(lora.layers.get('distilbert.transformer.layer.0.ffn.lin1')!.A.shape, [4, 8])
    assert.deepEqual(lora.layers.get('distilbert.transformer.layer.0.ffn.lin1')!.B.shape, [12, 4])
    assert.equal(maxAbsDiff(logits(model), before), 0)
    const trainable = model.trainableParameters().map((p) => p.name)
    assert.equal(trainable.length, 6 * 2 + 2)
    assert.ok(trainable.every((n) => n.includes('.lora_') || n.startsWith('classifier.')))
    assert.ok(model.trainableParameters().every((p) => p.variable instanceof tf.Variable))
    assert.ok(model.namedParameters().filter((p) => !p.trainable).every((p) => !(p.value instanceof tf.Variable)))
    assert.throws(() => injectLora(model, loraSettings({})), /already has LoRA/)
    model.dispose()
  })

  test('the LoRA forward equals the float64 reference with W + (alpha/r) B A', () => {
    const model = createRandomModel(bert(), { seed: 2 })
    const lora = injectLora(model, loraSettings({ r: 2, alpha: 6, target_modules: ['query', 'value', 'output.dense'] }), { seed: 4 })
    randomiseB(lora, 5)
    const merged = (name: string): ArrayLike<number> => {
      const l = lora.layers.get(name.slice(0, -'.weight'.length))
      const w = model.parameter(name).read()
      if (!l || !name.endsWith('.weight')) return w
      const [out, inF] = w.length === l.B.shape[0]! * l.A.shape[1]! ? [l.B.shape[0]!, l.A.shape[1]!] : [0, 0]
      const A = l.A.read(), B = l.B.read()
      return Array.from({ length: out * inF }, (_, k) => {
        const o = Math.floor(k / inF), i = k % inF
        let s = 0
        for (let j = 0; j < l.r; j++) s += B[o * l.r + j]! * A[j * inF + i]!
        return w[k]! + l.scaling * s
      })
    }
    const ref = referenceBert(TINY_BERT, merged, BATCH.ids, BATCH.mask, null, 2)
    assert.ok(maxAbsDiff(logits(model), ref) < 1e-5, `diff ${maxAbsDiff(logits(model), ref)}`)
    model.dispose()
  })

  test('gradients agree with central finite differences of the loss', () => {
    const model = createRandomModel(distil(), { seed: 3 })
    const lora = injectLora(model, loraSettings({ r: 2, alpha: 4, target_modules: ['q_lin', 'lin2'] }), { seed: 1 })
    randomiseB(lora, 2)
    const ids = tf.tensor2d(BATCH.ids, undefined, 'int32')
    const mask = tf.tensor2d(BATCH.mask, undefined, 'int32')
    const labels = tf.tensor1d(BATCH.labels, 'int32')
    const loss = () => crossEntropy(model.forward(ids, mask), labels)
    const { value, grads } = valueAndGrads(loss, model.trainableParameters())
    for (const name of ['distilbert.transformer.layer.0.attention.q_lin.lora_A.weight', 'distilbert.transformer.layer.1.ffn.lin2.lora_B.weight', 'classifier.weight']) {
      const p = model.parameter(name)
      const g = grads.get(name)!.dataSync()
      const base = p.read()
      for (const i of [0, 3, base.length - 1]) {
        const at = (delta: number) => {
          const v = base.slice()
          v[i] = v[i]! + delta
          p.assign(v)
          const l = loss()
          const out = l.dataSync()[0]!
          l.dispose()
          return out
        }
        const eps = 1e-2
        const fd = (at(eps) - at(-eps)) / (2 * eps)
        p.assign(base)
        assert.ok(Math.abs(fd - g[i]!) < 2e-3 + 0.05 * Math.abs(g[i]!), `${name}[${i}]: finite difference ${fd} vs gradient ${g[i]}`)
      }
    }
    tf.dispose([value, ids, mask, labels, ...grads.values()])
    model.dispose()
  })

  test('LoRA dropout only acts in training mode', () => {
    const model = createRandomModel(distil(), { seed: 3 })
    const lora = injectLora(model, loraSettings({ r: 2, dropout: 0.5, target_modules: ['q_lin'] }))
    randomiseB(lora, 2)
    const model2Logits = logits(model)
    const ids = tf.tensor2d(BATCH.ids, undefined, 'int32')
    const mask = tf.tensor2d(BATCH.mask, undefined, 'int32')
    const a = model.forward(ids, mask, null, { training: true, rng: new Rng(1) }).arraySync() as number[][]
    assert.ok(maxAbsDiff(a, model2Logits) > 1e-4)
    assert.equal(maxAbsDiff(logits(model), model2Logits), 0)
    model.dispose()
  })
})

describe('adapters in the PEFT format (no ../shared)', () => {
  test('save then load onto a fresh base model reproduces the logits; keys and config are PEFT', async () => {
    const model = createRandomModel(distil(), { seed: 7 })
    const lora = injectLora(model, loraSettings({ r: 4, alpha: 8, target_modules: ['q_lin', 'v_lin'], modules_to_save: ['pre_classifier'] }), { seed: 1 })
    randomiseB(lora, 3)
    model.parameter('classifier.weight').assign(new Rng(4).fillNormal(24, 0, 1))
    const expected = logits(model)
    const folder = join(dir, 'adapter')
    await saveAdapter(lora, folder, { baseModelNameOrPath: 'tiny' })
    const cfg = JSON.parse(await readFile(join(folder, 'adapter_config.json'), 'utf8'))
    assert.equal(cfg.peft_type, 'LORA')
    assert.equal(cfg.task_type, 'SEQ_CLS')
    assert.deepEqual(cfg.target_modules, ['q_lin', 'v_lin'])
    assert.deepEqual(cfg.modules_to_save, ['pre_classifier'])
    assert.equal(cfg.r, 4)
    assert.equal(cfg.lora_alpha, 8)
    const st = await readSafetensors(join(folder, 'adapter_model.safetensors'))
    assert.deepEqual(st.metadata, { format: 'pt' })
    assert.deepEqual(st.tensors.get('base_model.model.distilbert.transformer.layer.1.attention.v_lin.lora_A.weight')!.shape, [4, 8])
    assert.deepEqual(st.tensors.get('base_model.model.distilbert.transformer.layer.1.attention.v_lin.lora_B.weight')!.shape, [8, 4])
    assert.ok(st.tensors.has('base_model.model.pre_classifier.bias') && st.tensors.has('base_model.model.classifier.weight'))
    assert.equal(st.tensors.size, 8 + 4)

    const fresh = createRandomModel(distil(), { seed: 7 })
    const loaded = await loadAdapter(fresh, folder)
    assert.equal(maxAbsDiff(logits(fresh), expected), 0)
    assert.equal(fresh.trainableParameters().length, 0, 'loaded for inference: all frozen')
    assert.equal(loaded.layers.size, 4)
    model.dispose()
    fresh.dispose()
  })

  test('accepts older key layouts (.default. adapter names, modules_to_save.default)', async () => {
    assert.equal(adapterKeyToParam('base_model.model.a.q_lin.lora_A.default.weight'), 'a.q_lin.lora_A.weight')
    assert.equal(adapterKeyToParam('base_model.model.classifier.modules_to_save.default.weight'), 'classifier.weight')
    const model = createRandomModel(distil(), { seed: 7 })
    const lora = injectLora(model, loraSettings({ r: 2, target_modules: ['v_lin'] }), { seed: 1 })
    randomiseB(lora, 3)
    const expected = logits(model)
    const folder = join(dir, 'old-adapter')
    await saveAdapter(lora, folder)
    const st = await readSafetensors(join(folder, 'adapter_model.safetensors'))
    const renamed = new Map([...st.tensors].map(([k, t]) => [k.replace(/lora_([AB])\.weight$/, 'lora_$1.default.weight').replace('classifier.', 'classifier.modules_to_save.default.'), { shape: t.shape, data: t.data }]))
    await writeSafetensors(join(folder, 'adapter_model.safetensors'), renamed)
    const fresh = createRandomModel(distil(), { seed: 7 })
    await loadAdapter(fresh, folder)
    assert.equal(maxAbsDiff(logits(fresh), expected), 0)
    model.dispose()
    fresh.dispose()
  })

  test('an adapter that does not fit is a LoraError naming the problem, and leaves the model clean', async () => {
    const model = createRandomModel(distil(), { seed: 7 })
    const lora = injectLora(model, loraSettings({ r: 2, target_modules: ['v_lin'] }))
    const folder = join(dir, 'bad-adapter')
    await saveAdapter(lora, folder)
    model.dispose()
    const st = await readSafetensors(join(folder, 'adapter_model.safetensors'))
    const withExtra = new Map([...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]))
    withExtra.set('base_model.model.distilbert.transformer.layer.0.attention.k_lin.lora_A.weight', { shape: [2, 8], data: new Float32Array(16) })
    await writeSafetensors(join(folder, 'adapter_model.safetensors'), withExtra)
    const fresh = createRandomModel(distil())
    await assert.rejects(loadAdapter(fresh, folder), (e: unknown) => {
      assert.ok(e instanceof LoraError)
      assert.match(e.message, /adapter_model\.safetensors: adapter does not fit the model: unexpected keys .*k_lin\.lora_A\.weight/)
      return true
    })
    assert.ok([...fresh.linears.values()].every((l) => l.adapter === null))
    assert.ok(!fresh.params.names().some((n) => n.includes('lora_')))
    // Same targets, different rank: init_from reports the shape and hints at r.
    const other = injectLora(fresh, loraSettings({ r: 3, target_modules: ['v_lin'] }))
    await writeSafetensors(join(folder, 'adapter_model.safetensors'), new Map([...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }])))
    await assert.rejects(initFromAdapter(other, folder), /adapter shape \[2,8\], model expects \[3,8\] \(a different rank r\?\)/)
    fresh.dispose()
  })

  test('init_from: starts a new LoRA model from a saved adapter', async () => {
    const model = createRandomModel(bert(), { seed: 1 })
    const c = loraSettings({ r: 2, target_modules: ['query'] })
    const a = injectLora(model, c, { seed: 1 })
    randomiseB(a, 9)
    const expected = logits(model)
    const folder = join(dir, 'init-from')
    await saveAdapter(a, folder)
    model.dispose()
    const again = createRandomModel(bert(), { seed: 1 })
    const b = injectLora(again, c, { seed: 2 })
    assert.ok(maxAbsDiff(logits(again), expected) > 1e-4)
    const report = await initFromAdapter(b, folder)
    assert.equal(report.loaded.length, 4 + 2)
    assert.equal(maxAbsDiff(logits(again), expected), 0)
    assert.equal(again.trainableParameters().length, 4 + 2, 'still trainable')
    again.dispose()
  })
})

describe('merging', () => {
  test('merged and unmerged logits agree within 1e-5; unmerge restores the base weights', () => {
    const model = createRandomModel(distil(), { seed: 5 })
    const w0 = model.parameter('distilbert.transformer.layer.0.attention.q_lin.weight').read()
    const lora = injectLora(model, loraSettings({ r: 4, alpha: 16, target_modules: 'all-linear' }), { seed: 5 })
    randomiseB(lora, 6)
    const unmerged = logits(model)
    mergeLora(lora)
    assert.ok(lora.merged)
    assert.ok(maxAbsDiff(logits(model), unmerged) < 1e-5)
    const wm = model.parameter('distilbert.transformer.layer.0.attention.q_lin.weight').read()
    assert.ok(wm.some((v, i) => Math.abs(v - w0[i]!) > 1e-3))
    unmergeLora(lora)
    const w1 = model.parameter('distilbert.transformer.layer.0.attention.q_lin.weight').read()
    assert.ok(w1.every((v, i) => Math.abs(v - w0[i]!) < 1e-6))
    assert.ok(maxAbsDiff(logits(model), unmerged) < 1e-5)
    model.dispose()
  })

  test('the merged export is a plain transformers folder giving the LoRA model\'s logits', async () => {
    const model = createRandomModel(distil(), { seed: 5 })
    const lora = injectLora(model, loraSettings({ r: 4, target_modules: ['q_lin', 'v_lin'], modules_to_save: ['pre_classifier'] }), { seed: 5 })
    randomiseB(lora, 7)
    model.parameter('pre_classifier.bias').assign(new Rng(1).fillNormal(8, 0, 1))
    const expected = logits(model)
    const folder = join(dir, 'merged')
    await saveMergedModel(lora, folder)
    assert.ok(!lora.merged, 'exporting does not change the model')
    const { model: plain, report } = await loadPretrained(folder)
    assert.deepEqual(report.warnings, [])
    assert.ok(!plain.params.names().some((n) => n.includes('lora')))
    assert.ok(maxAbsDiff(logits(plain), expected) < 1e-5)
    const ref = referenceDistilbert(TINY_DISTILBERT, (n) => plain.parameter(n).read(), BATCH.ids, BATCH.mask, 3)
    assert.ok(maxAbsDiff(ref, expected) < 1e-5)
    model.dispose()
    plain.dispose()
  })
})

describe('golden parity with PEFT (../shared fixtures)', () => {
  for (const [name, folder, golden, adapter] of [
    ['DistilBERT', 'tiny-distilbert', 'distilbert-lora.json', 'lora-adapter'],
    ['BERT', 'tiny-bert', 'bert-lora.json', 'bert-lora-adapter'],
  ] as const) {
    test(`${name}: adapter logits within 1e-4, loss, and gradients of every LoRA and head weight`, { skip: needsShared }, async () => {
      const g = JSON.parse(await readFile(shared('fixtures/golden', golden), 'utf8'))
      const { model } = await loadPretrained(shared('fixtures', folder))
      const lora = await loadAdapter(model, shared('fixtures/golden', adapter), { isTrainable: true })
      const ids = tf.tensor2d(g.input_ids, undefined, 'int32')
      const mask = tf.tensor2d(g.attention_mask, undefined, 'int32')
      const labels = tf.tensor1d(g.labels, 'int32')
      const out = model.forward(ids, mask).arraySync() as number[][]
      assert.ok(maxAbsDiff(out, g.lora_logits) < 1e-4, `logits diff ${maxAbsDiff(out, g.lora_logits)}`)
      const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(ids, mask), labels), model.trainableParameters())
      assert.ok(Math.abs(value.dataSync()[0]! - g.lora_loss) < 1e-5)
      const gold = await readSafetensors(shared(g.grads_file))
      assert.equal(grads.size, gold.tensors.size)
      for (const [key, t] of gold.tensors) {
        const mine = grads.get(adapterKeyToParam(key))
        assert.ok(mine, `no gradient for ${key}`)
        const d = mine.dataSync()
        for (let i = 0; i < t.data.length; i++) {
          const want = t.data[i]!
          const err = Math.abs(d[i]! - want)
          assert.ok(err <= 1e-6 || err <= 1e-3 * Math.abs(want), `${key}[${i}]: ${d[i]} vs ${want}`)
        }
      }
      // merged vs unmerged on the real fixture
      mergeLora(lora)
      assert.ok(maxAbsDiff(model.forward(ids, mask).arraySync() as number[][], out) < 1e-5)
      tf.dispose([value, ids, mask, labels, ...grads.values()])
      model.dispose()
    })
  }
})
