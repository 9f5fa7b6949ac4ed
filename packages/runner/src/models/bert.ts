// The bert family, as BertForSequenceClassification: the config and math of transformers'
// modeling_bert (absolute positions, post-LayerNorm, tanh pooler on the first token), parameter
// names as its state dict.
import * as tf from '@tensorflow/tfjs-core'
import { layerNormParams, layerNormSize, linearParams, linearSize, type LinearSpec, type ParamSpec } from './spec.ts'
import type { ConfigFields } from './config-fields.ts'
import type { ClassifierFamily } from './family.ts'
import { layerNorm } from '../nn/layer-norm.ts'
import { dropout } from '../nn/dropout.ts'
import { ACTIVATIONS } from '../nn/activation.ts'
import { attentionMaskBias, multiHeadAttention } from '../nn/attention.ts'
import { TokenLayout } from '../nn/token-layout.ts'

/** The config as parseConfig reads it from config.json, with transformers' defaults. */
export type BertConfig = ReturnType<typeof parseConfig>

function parseConfig({ raw, fail, num, int, prob, str, labels }: ConfigFields) {
  const pet = str('position_embedding_type', 'absolute')
  if (pet !== 'absolute') fail(`"position_embedding_type": "${pet}" is not supported (only "absolute")`)
  const hiddenAct = str('hidden_act', 'gelu')
  if (!ACTIVATIONS[hiddenAct]) fail(`"hidden_act": "${hiddenAct}" is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`)
  const cd = raw.classifier_dropout
  const c = {
    modelType: 'bert' as const,
    vocabSize: int('vocab_size', 30522),
    hiddenSize: int('hidden_size', 768),
    numHiddenLayers: int('num_hidden_layers', 12),
    numAttentionHeads: int('num_attention_heads', 12),
    intermediateSize: int('intermediate_size', 3072),
    hiddenAct,
    hiddenDropoutProb: prob('hidden_dropout_prob', 0.1),
    attentionProbsDropoutProb: prob('attention_probs_dropout_prob', 0.1),
    maxPositionEmbeddings: int('max_position_embeddings', 512),
    typeVocabSize: int('type_vocab_size', 2),
    initializerRange: num('initializer_range', 0.02, (v) => v >= 0, 'a non-negative number'),
    layerNormEps: num('layer_norm_eps', 1e-12, (v) => v > 0, 'a positive number'),
    padTokenId: num('pad_token_id', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer'),
    // Dropout before the classifier: classifier_dropout when set, else hidden_dropout_prob.
    classifierDropout: cd === undefined || cd === null ? null : prob('classifier_dropout', 0),
    ...labels(),
    raw,
  }
  if (c.hiddenSize % c.numAttentionHeads !== 0) {
    fail(`"hidden_size" (${c.hiddenSize}) must be divisible by "num_attention_heads" (${c.numAttentionHeads})`)
  }
  if (c.padTokenId >= c.vocabSize) fail(`"pad_token_id" (${c.padTokenId}) must be below "vocab_size" (${c.vocabSize})`)
  return c
}

export const bert: ClassifierFamily<BertConfig> = {
  task: 'sequence-classification',
  modelType: 'bert',
  architecture: 'BertForSequenceClassification',
  loraTargets: ['query', 'value'],
  tokenTypes: true,
  sizeKeys: 'num_hidden_layers, hidden_size, intermediate_size, vocab_size and max_position_embeddings',
  parseConfig,
  parameterCount(c) {
    const h = c.hiddenSize
    const embeddings = (c.vocabSize + c.maxPositionEmbeddings + c.typeVocabSize) * h + layerNormSize(h)
    const layer = 4 * linearSize(h, h) + layerNormSize(h) + linearSize(h, c.intermediateSize) + linearSize(c.intermediateSize, h) + layerNormSize(h)
    return embeddings + c.numHiddenLayers * layer + linearSize(h, h) + linearSize(h, c.numLabels)
  },
  spec(c) {
    const p: ParamSpec[] = []
    const l: LinearSpec[] = []
    const h = c.hiddenSize
    const e = 'bert.embeddings'
    p.push({ name: `${e}.word_embeddings.weight`, shape: [c.vocabSize, h], init: { kind: 'normal', paddingIdx: c.padTokenId }, role: 'encoder' })
    p.push({ name: `${e}.position_embeddings.weight`, shape: [c.maxPositionEmbeddings, h], init: { kind: 'normal' }, role: 'encoder' })
    p.push({ name: `${e}.token_type_embeddings.weight`, shape: [c.typeVocabSize, h], init: { kind: 'normal' }, role: 'encoder' })
    layerNormParams(`${e}.LayerNorm`, h, 'encoder', p)
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const b = `bert.encoder.layer.${i}`
      for (const n of ['query', 'key', 'value']) linearParams(`${b}.attention.self.${n}`, h, h, 'encoder', p, l)
      linearParams(`${b}.attention.output.dense`, h, h, 'encoder', p, l)
      layerNormParams(`${b}.attention.output.LayerNorm`, h, 'encoder', p)
      linearParams(`${b}.intermediate.dense`, h, c.intermediateSize, 'encoder', p, l)
      linearParams(`${b}.output.dense`, c.intermediateSize, h, 'encoder', p, l)
      layerNormParams(`${b}.output.LayerNorm`, h, 'encoder', p)
    }
    linearParams('bert.pooler.dense', h, h, 'pooler', p, l)
    linearParams('classifier', h, c.numLabels, 'head', p, l)
    return { prefix: 'bert', params: p, linears: l, outputModule: 'classifier' }
  },
  forward(m, inputs, ctx) {
    const c = m.config
    // Token-wise layers run on the real tokens only, as rows [N, hidden] (see nn/token-layout.ts).
    const t = TokenLayout.fromMask(inputs.attentionMask)
    try {
      return tf.tidy(() => {
        const h = c.hiddenSize
        const e = 'bert.embeddings'
        const words = tf.gather(m.p(`${e}.word_embeddings.weight`), t.select(tf.cast(inputs.inputIds, 'int32')))
        const ttTable = m.p(`${e}.token_type_embeddings.weight`)
        // No token_type_ids means all zeros (transformers' default): row 0 for every position.
        const types = inputs.tokenTypeIds ? tf.gather(ttTable, t.select(tf.cast(inputs.tokenTypeIds, 'int32'))) : tf.slice(ttTable, [0, 0], [1, h])
        const pos = tf.gather(m.p(`${e}.position_embeddings.weight`), t.positions)
        let x = layerNorm(tf.add(tf.add(words, types), pos), m.p(`${e}.LayerNorm.weight`), m.p(`${e}.LayerNorm.bias`), c.layerNormEps)
        x = dropout(x, c.hiddenDropoutProb, ctx)
        const maskBias = attentionMaskBias(inputs.attentionMask)
        const act = ACTIVATIONS[c.hiddenAct]!
        for (let i = 0; i < c.numHiddenLayers; i++) {
          const pre = `bert.encoder.layer.${i}`
          const s = `${pre}.attention.self`
          const input = x
          // One scope per block: in eval its temporaries go at once (the tape keeps what backward needs)
          x = tf.tidy(() => {
            const q = t.toPadded(m.lin(`${s}.query`).forward(input, ctx))
            const k = t.toPadded(m.lin(`${s}.key`).forward(input, ctx))
            const v = t.toPadded(m.lin(`${s}.value`).forward(input, ctx))
            const context = t.toRows(
              multiHeadAttention(q, k, v, maskBias, { heads: c.numAttentionHeads, scaleQueryFirst: false, dropoutRate: c.attentionProbsDropoutProb }, ctx),
            )
            const ao = dropout(m.lin(`${pre}.attention.output.dense`).forward(context, ctx), c.hiddenDropoutProb, ctx)
            const a = layerNorm(tf.add(ao, input), m.p(`${pre}.attention.output.LayerNorm.weight`), m.p(`${pre}.attention.output.LayerNorm.bias`), c.layerNormEps)
            const inter = act(m.lin(`${pre}.intermediate.dense`).forward(a, ctx))
            const o = dropout(m.lin(`${pre}.output.dense`).forward(inter, ctx), c.hiddenDropoutProb, ctx)
            return layerNorm(tf.add(o, a), m.p(`${pre}.output.LayerNorm.weight`), m.p(`${pre}.output.LayerNorm.bias`), c.layerNormEps)
          })
          input.dispose()
        }
        const first = t.firstTokens(x)
        const pooled = tf.tanh(m.lin('bert.pooler.dense').forward(first, ctx))
        const dropped = dropout(pooled, c.classifierDropout ?? c.hiddenDropoutProb, ctx)
        return m.lin('classifier').forward(dropped, ctx) as tf.Tensor2D
      })
    } finally {
      t.dispose()
    }
  },
}
