// The distilbert family, as DistilBertForSequenceClassification: the config and math of
// transformers' modeling_distilbert (eval and train mode), parameter names as its state dict.
import * as tf from '@tensorflow/tfjs-core'
import { layerNormParams, layerNormSize, linearParams, linearSize, type LinearSpec, type ParamSpec } from './spec.ts'
import type { ConfigFields } from './config-fields.ts'
import type { ClassifierFamily } from './family.ts'
import { layerNorm } from '../nn/layer-norm.ts'
import { dropout } from '../nn/dropout.ts'
import { ACTIVATIONS } from '../nn/activation.ts'
import { attentionMaskBias, multiHeadAttention } from '../nn/attention.ts'
import { TokenLayout } from '../nn/token-layout.ts'

const LN_EPS = 1e-12

/** The config as parseConfig reads it from config.json, with transformers' defaults. */
export type DistilBertConfig = ReturnType<typeof parseConfig>

function parseConfig({ raw, fail, num, int, prob, str, labels }: ConfigFields) {
  if (raw.sinusoidal_pos_embds === true) fail('"sinusoidal_pos_embds": true is not supported (only learned position embeddings)')
  const activation = str('activation', 'gelu')
  if (activation !== 'gelu' && activation !== 'relu') fail(`"activation" must be "gelu" or "relu", found "${activation}"`)
  const c = {
    modelType: 'distilbert' as const,
    vocabSize: int('vocab_size', 30522),
    maxPositionEmbeddings: int('max_position_embeddings', 512),
    dim: int('dim', 768),
    nLayers: int('n_layers', 6),
    nHeads: int('n_heads', 12),
    hiddenDim: int('hidden_dim', 3072),
    dropout: prob('dropout', 0.1),
    attentionDropout: prob('attention_dropout', 0.1),
    seqClassifDropout: prob('seq_classif_dropout', 0.2),
    activation,
    initializerRange: num('initializer_range', 0.02, (v) => v >= 0, 'a non-negative number'),
    padTokenId: num('pad_token_id', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer'),
    ...labels(),
    raw,
  }
  if (c.dim % c.nHeads !== 0) fail(`"dim" (${c.dim}) must be divisible by "n_heads" (${c.nHeads})`)
  if (c.padTokenId >= c.vocabSize) fail(`"pad_token_id" (${c.padTokenId}) must be below "vocab_size" (${c.vocabSize})`)
  return c
}

export const distilbert: ClassifierFamily<DistilBertConfig> = {
  task: 'sequence-classification',
  modelType: 'distilbert',
  architecture: 'DistilBertForSequenceClassification',
  loraTargets: ['q_lin', 'v_lin'],
  tokenTypes: false,
  sizeKeys: 'n_layers, dim, hidden_dim, vocab_size and max_position_embeddings',
  parseConfig,
  parameterCount(c) {
    const d = c.dim
    const embeddings = c.vocabSize * d + c.maxPositionEmbeddings * d + layerNormSize(d)
    const layer = 4 * linearSize(d, d) + layerNormSize(d) + linearSize(d, c.hiddenDim) + linearSize(c.hiddenDim, d) + layerNormSize(d)
    return embeddings + c.nLayers * layer + linearSize(d, d) + linearSize(d, c.numLabels)
  },
  spec(c) {
    const p: ParamSpec[] = []
    const l: LinearSpec[] = []
    const e = 'distilbert.embeddings'
    p.push({ name: `${e}.word_embeddings.weight`, shape: [c.vocabSize, c.dim], init: { kind: 'normal', paddingIdx: c.padTokenId }, role: 'encoder' })
    p.push({ name: `${e}.position_embeddings.weight`, shape: [c.maxPositionEmbeddings, c.dim], init: { kind: 'normal' }, role: 'encoder' })
    layerNormParams(`${e}.LayerNorm`, c.dim, 'encoder', p)
    for (let i = 0; i < c.nLayers; i++) {
      const b = `distilbert.transformer.layer.${i}`
      for (const n of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) linearParams(`${b}.attention.${n}`, c.dim, c.dim, 'encoder', p, l)
      layerNormParams(`${b}.sa_layer_norm`, c.dim, 'encoder', p)
      linearParams(`${b}.ffn.lin1`, c.dim, c.hiddenDim, 'encoder', p, l)
      linearParams(`${b}.ffn.lin2`, c.hiddenDim, c.dim, 'encoder', p, l)
      layerNormParams(`${b}.output_layer_norm`, c.dim, 'encoder', p)
    }
    linearParams('pre_classifier', c.dim, c.dim, 'head', p, l)
    linearParams('classifier', c.dim, c.numLabels, 'head', p, l)
    return { prefix: 'distilbert', params: p, linears: l, outputModule: 'classifier' }
  },
  forward(m, inputs, ctx) {
    const c = m.config
    // Token-wise layers run on the real tokens only, as rows [N, dim] (see nn/token-layout.ts).
    const t = TokenLayout.fromMask(inputs.attentionMask)
    try {
      return tf.tidy(() => {
        const e = 'distilbert.embeddings'
        const words = tf.gather(m.p(`${e}.word_embeddings.weight`), t.select(tf.cast(inputs.inputIds, 'int32')))
        const pos = tf.gather(m.p(`${e}.position_embeddings.weight`), t.positions)
        let x = layerNorm(tf.add(words, pos), m.p(`${e}.LayerNorm.weight`), m.p(`${e}.LayerNorm.bias`), LN_EPS)
        x = dropout(x, c.dropout, ctx)
        const maskBias = attentionMaskBias(inputs.attentionMask)
        const act = ACTIVATIONS[c.activation]!
        for (let i = 0; i < c.nLayers; i++) {
          const pre = `distilbert.transformer.layer.${i}`
          const a = `${pre}.attention`
          const input = x
          // One scope per block: in eval its temporaries go at once (the tape keeps what backward needs)
          x = tf.tidy(() => {
            const q = t.toPadded(m.lin(`${a}.q_lin`).forward(input, ctx))
            const k = t.toPadded(m.lin(`${a}.k_lin`).forward(input, ctx))
            const v = t.toPadded(m.lin(`${a}.v_lin`).forward(input, ctx))
            const context = t.toRows(multiHeadAttention(q, k, v, maskBias, { heads: c.nHeads, scaleQueryFirst: true, dropoutRate: c.attentionDropout }, ctx))
            const sa = m.lin(`${a}.out_lin`).forward(context, ctx)
            const h = layerNorm(tf.add(sa, input), m.p(`${pre}.sa_layer_norm.weight`), m.p(`${pre}.sa_layer_norm.bias`), LN_EPS)
            let f = m.lin(`${pre}.ffn.lin2`).forward(act(m.lin(`${pre}.ffn.lin1`).forward(h, ctx)), ctx)
            f = dropout(f, c.dropout, ctx)
            return layerNorm(tf.add(f, h), m.p(`${pre}.output_layer_norm.weight`), m.p(`${pre}.output_layer_norm.bias`), LN_EPS)
          })
          input.dispose()
        }
        const first = t.firstTokens(x)
        let h = tf.relu(m.lin('pre_classifier').forward(first, ctx))
        h = dropout(h, c.seqClassifDropout, ctx)
        return m.lin('classifier').forward(h, ctx) as tf.Tensor2D
      })
    } finally {
      t.dispose()
    }
  },
}
