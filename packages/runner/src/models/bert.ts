// BertForSequenceClassification: the math of transformers' modeling_bert (absolute positions,
// post-LayerNorm, tanh pooler on the first token), parameter names as its state dict.
import * as tf from '@tensorflow/tfjs-core'
import type { BertConfig } from './config.ts'
import { layerNormParams, linearParams, type LinearSpec, type ModelSpec, type ParamSpec } from './spec.ts'
import type { ModelInternals, ModelInputs } from './architecture.ts'
import { layerNorm } from '../nn/layer-norm.ts'
import { dropout } from '../nn/dropout.ts'
import { ACTIVATIONS } from '../nn/activation.ts'
import { attentionMaskBias, multiHeadAttention } from '../nn/attention.ts'
import type { ForwardContext } from '../nn/context.ts'
import { TokenLayout } from '../nn/token-layout.ts'

export function bertSpec(c: BertConfig): ModelSpec {
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
}

export function bertForward(m: ModelInternals<BertConfig>, inputs: ModelInputs, ctx: ForwardContext): tf.Tensor2D {
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
}
