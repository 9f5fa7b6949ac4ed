// The Llama family of decoders: model_type llama, mistral and qwen2 (LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM) share one architecture, the math of transformers'
// modeling_llama / modeling_mistral / modeling_qwen2 and of ../shared/peer/llama.py:
//   x = embed_tokens(ids)
//   per layer: x += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = input_layernorm(x)
//              x += down_proj(silu(gate_proj(m)) * up_proj(m)),                      m = post_attention_layernorm(x)
//   logits = lm_head(norm(x))   (lm_head tied to embed_tokens with tie_word_embeddings)
// with RMSNorm, rotary embeddings (rope_theta, rope_scaling linear / llama3), grouped-query
// attention (num_key_value_heads), causal + padding (+ packed-segment, + sliding-window) masks.
// The types differ only in how config.json reads: Qwen2 has q/k/v biases; Llama attention_bias and
// mlp_bias; Mistral and Qwen2 a sliding window (Mistral on every layer when set, Qwen2 with
// use_sliding_window from max_window_layers on, or per layer from layer_types).
import * as tf from '@tensorflow/tfjs-core'
import { linearParams, linearSize, rmsNormParams, type LinearSpec, type ParamSpec } from './spec.ts'
import type { ConfigFields } from './config-fields.ts'
import type { CausalLmFamily } from './family.ts'
import { rmsNorm } from '../nn/rms-norm.ts'
import { applyRope, ropeInverseFrequencies, RopeTable, type RopeScaling } from '../nn/rope.ts'
import { decoderMaskBias, groupedQueryAttention } from '../nn/causal-attention.ts'
import { siluGate } from '../nn/silu-gate.ts'
import { embedding } from '../nn/embedding.ts'
import { checkpointed, type Block } from '../nn/checkpoint.ts'

export type LlamaModelType = 'llama' | 'mistral' | 'qwen2'

/** transformers' LlamaConfig / MistralConfig / Qwen2Config defaults, where they differ. */
const DEFAULTS: Record<LlamaModelType, { vocab: number; intermediate: number; kvHeads: number | null; maxPositions: number; window: number | null }> = {
  llama: { vocab: 32000, intermediate: 11008, kvHeads: null, maxPositions: 2048, window: null },
  mistral: { vocab: 32000, intermediate: 14336, kvHeads: 8, maxPositions: 4096 * 32, window: 4096 },
  qwen2: { vocab: 151936, intermediate: 22016, kvHeads: 32, maxPositions: 32768, window: 4096 },
}

const ROPE_TYPES = 'linear, llama3'

type Raw = Readonly<Record<string, unknown>>
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v)

/** rope_theta and rope_scaling, from the keys of transformers v4 or v5's `rope_parameters`. */
function readRope(raw: Raw, fail: (reason: string) => never): { theta: number; scaling: RopeScaling | null } {
  const rp = raw.rope_parameters
  if (rp !== undefined && rp !== null && !isObject(rp)) fail('"rope_parameters" must be an object')
  const params: Raw = isObject(rp) ? rp : {}
  const thetaRaw = raw.rope_theta ?? params.rope_theta ?? 10000
  if (typeof thetaRaw !== 'number' || !(thetaRaw > 0)) fail(`"rope_theta" must be a positive number, found ${JSON.stringify(thetaRaw)}`)
  const key = raw.rope_scaling !== undefined && raw.rope_scaling !== null ? 'rope_scaling' : 'rope_parameters'
  let s: Raw | null = null
  if (key === 'rope_scaling') {
    if (!isObject(raw.rope_scaling)) fail('"rope_scaling" must be an object or null')
    s = raw.rope_scaling as Raw
  } else {
    const rest = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'rope_theta'))
    s = Object.keys(rest).length > 0 ? rest : null
  }
  if (s === null) return { theta: thetaRaw as number, scaling: null }
  const type = s.rope_type ?? s.type
  if (type === 'default' || type === undefined) {
    if (type === undefined && Object.keys(s).length > 0) fail(`"${key}" has no "rope_type"; supported types: ${ROPE_TYPES}`)
    return { theta: thetaRaw as number, scaling: null }
  }
  const num = (k: string, check: (v: number) => boolean, what: string): number => {
    const v = s![k]
    if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) fail(`"${key}.${k}" must be ${what}, found ${JSON.stringify(v)}`)
    return v as number
  }
  if (type === 'linear') return { theta: thetaRaw as number, scaling: { kind: 'linear', factor: num('factor', (v) => v > 0, 'a positive number') } }
  if (type === 'llama3') {
    const scaling: RopeScaling = {
      kind: 'llama3',
      factor: num('factor', (v) => v > 0, 'a positive number'),
      lowFreqFactor: num('low_freq_factor', (v) => v > 0, 'a positive number'),
      highFreqFactor: num('high_freq_factor', (v) => v > 0, 'a positive number'),
      originalMaxPositionEmbeddings: num('original_max_position_embeddings', (v) => v > 0, 'a positive number'),
    }
    if (scaling.highFreqFactor <= scaling.lowFreqFactor) fail(`"${key}.high_freq_factor" must be above low_freq_factor`)
    return { theta: thetaRaw as number, scaling }
  }
  return fail(`"${key}" type ${JSON.stringify(type)} is not supported (supported: ${ROPE_TYPES}, or none)`)
}

function parseConfigOf(modelType: LlamaModelType) {
  return ({ raw, fail, num, int, prob, str, labels }: ConfigFields) => {
    const d = DEFAULTS[modelType]
    const hiddenAct = str('hidden_act', 'silu')
    if (hiddenAct !== 'silu') fail(`"hidden_act": "${hiddenAct}" is not supported (the ${modelType} family uses "silu")`)
    const optionalInt = (key: string, dflt: number | null): number | null => (raw[key] === undefined || raw[key] === null ? dflt : int(key))
    const bool = (key: string, dflt: boolean): boolean => {
      const v = raw[key] ?? dflt
      if (typeof v !== 'boolean') fail(`"${key}" must be true or false, found ${JSON.stringify(v)}`)
      return v as boolean
    }
    const hiddenSize = int('hidden_size', 4096)
    const numAttentionHeads = int('num_attention_heads', 32)
    const numKeyValueHeads = optionalInt('num_key_value_heads', d.kvHeads) ?? numAttentionHeads
    const headDim = optionalInt('head_dim', null) ?? hiddenSize / numAttentionHeads
    if (!Number.isInteger(headDim)) fail(`"hidden_size" (${hiddenSize}) must be divisible by "num_attention_heads" (${numAttentionHeads}) when "head_dim" is not set`)
    if (headDim % 2 !== 0) fail(`the head dimension (${headDim}) must be even for rotary embeddings`)
    if (numAttentionHeads % numKeyValueHeads !== 0) {
      fail(`"num_attention_heads" (${numAttentionHeads}) must be a multiple of "num_key_value_heads" (${numKeyValueHeads})`)
    }
    const prf = raw.partial_rotary_factor
    if (prf !== undefined && prf !== null && prf !== 1) fail(`"partial_rotary_factor": ${JSON.stringify(prf)} is not supported (the ${modelType} family rotates whole heads: 1.0)`)
    const rope = readRope(raw, fail)
    const numHiddenLayers = int('num_hidden_layers', 32)
    const vocabSize = int('vocab_size', d.vocab)
    let qkvBias = false
    let oBias = false
    let mlpBias = false
    if (modelType === 'qwen2') qkvBias = true
    else if (modelType === 'llama') {
      qkvBias = oBias = bool('attention_bias', false)
      mlpBias = bool('mlp_bias', false)
    }
    // Sliding window per layer (null: full causal attention)
    const sw = raw.sliding_window === undefined ? d.window : raw.sliding_window === null ? null : int('sliding_window')
    let layerWindows: Array<number | null>
    const layerTypes = raw.layer_types
    if (layerTypes !== undefined && layerTypes !== null) {
      if (!Array.isArray(layerTypes) || layerTypes.length !== numHiddenLayers || !layerTypes.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
        fail(`"layer_types" must list "full_attention" or "sliding_attention" for each of the ${numHiddenLayers} layers`)
      }
      if ((layerTypes as string[]).includes('sliding_attention') && sw === null) fail('"layer_types" has sliding_attention layers but "sliding_window" is not set')
      layerWindows = (layerTypes as string[]).map((t) => (t === 'sliding_attention' ? sw : null))
    } else if (modelType === 'mistral') {
      layerWindows = new Array(numHiddenLayers).fill(sw)
    } else if (modelType === 'qwen2' && bool('use_sliding_window', false)) {
      const from = raw.max_window_layers === undefined || raw.max_window_layers === null ? 28 : num('max_window_layers', 28, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer')
      layerWindows = Array.from({ length: numHiddenLayers }, (_, i) => (i >= from ? sw : null))
    } else {
      layerWindows = new Array(numHiddenLayers).fill(null)
    }
    const padRaw = raw.pad_token_id
    const padTokenId = padRaw === undefined || padRaw === null ? null : num('pad_token_id', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer')
    if (padTokenId !== null && padTokenId >= vocabSize) fail(`"pad_token_id" (${padTokenId}) must be below "vocab_size" (${vocabSize})`)
    return {
      modelType,
      vocabSize,
      hiddenSize,
      intermediateSize: int('intermediate_size', d.intermediate),
      numHiddenLayers,
      numAttentionHeads,
      numKeyValueHeads,
      headDim,
      rmsNormEps: num('rms_norm_eps', 1e-6, (v) => v > 0, 'a positive number'),
      ropeTheta: rope.theta,
      ropeScaling: rope.scaling,
      maxPositionEmbeddings: int('max_position_embeddings', d.maxPositions),
      tieWordEmbeddings: bool('tie_word_embeddings', false),
      qkvBias,
      oBias,
      mlpBias,
      layerWindows,
      attentionDropout: prob('attention_dropout', 0),
      initializerRange: num('initializer_range', 0.02, (v) => v >= 0, 'a non-negative number'),
      padTokenId,
      ...labels(),
      raw,
    }
  }
}

/** The config as parseConfig reads it from config.json, with transformers' defaults. */
export type LlamaConfig = ReturnType<ReturnType<typeof parseConfigOf>>

const EMBED = 'model.embed_tokens.weight'
const ATTENTION = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const
const MLP = ['gate_proj', 'up_proj', 'down_proj'] as const

/** [in, out, bias] of each projection of a layer. */
function projections(c: LlamaConfig): Record<(typeof ATTENTION)[number] | (typeof MLP)[number], [number, number, boolean]> {
  const h = c.hiddenSize
  const q = c.numAttentionHeads * c.headDim
  const kv = c.numKeyValueHeads * c.headDim
  return {
    q_proj: [h, q, c.qkvBias],
    k_proj: [h, kv, c.qkvBias],
    v_proj: [h, kv, c.qkvBias],
    o_proj: [q, h, c.oBias],
    gate_proj: [h, c.intermediateSize, c.mlpBias],
    up_proj: [h, c.intermediateSize, c.mlpBias],
    down_proj: [c.intermediateSize, h, c.mlpBias],
  }
}

// Tables by config: built once per model config, grown to the positions seen (JavaScript memory).
const ropeTables = new WeakMap<LlamaConfig, RopeTable>()
function ropeTable(c: LlamaConfig): RopeTable {
  let t = ropeTables.get(c)
  if (!t) ropeTables.set(c, (t = new RopeTable(ropeInverseFrequencies(c.headDim, c.ropeTheta, c.ropeScaling), c.maxPositionEmbeddings)))
  return t
}

function familyOf(modelType: LlamaModelType, architecture: string): CausalLmFamily<LlamaConfig> {
  return {
    task: 'causal-lm',
    modelType,
    architecture,
    // PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for llama, mistral, qwen2
    loraTargets: ['q_proj', 'v_proj'],
    tokenTypes: false,
    sizeKeys: 'num_hidden_layers, hidden_size, intermediate_size, num_attention_heads, num_key_value_heads, head_dim and vocab_size',
    parseConfig: parseConfigOf(modelType),
    parameterCount(c) {
      const layer =
        Object.values(projections(c)).reduce((n, [i, o, b]) => n + linearSize(i, o, b), 0) + 2 * c.hiddenSize
      const embed = c.vocabSize * c.hiddenSize
      return embed + c.numHiddenLayers * layer + c.hiddenSize + (c.tieWordEmbeddings ? 0 : embed)
    },
    spec(c) {
      const p: ParamSpec[] = []
      const l: LinearSpec[] = []
      const h = c.hiddenSize
      p.push({ name: EMBED, shape: [c.vocabSize, h], init: c.padTokenId === null ? { kind: 'normal' } : { kind: 'normal', paddingIdx: c.padTokenId }, role: 'encoder' })
      const proj = projections(c)
      for (let i = 0; i < c.numHiddenLayers; i++) {
        const b = `model.layers.${i}`
        for (const n of ATTENTION) linearParams(`${b}.self_attn.${n}`, proj[n][0], proj[n][1], 'encoder', p, l, proj[n][2])
        for (const n of MLP) linearParams(`${b}.mlp.${n}`, proj[n][0], proj[n][1], 'encoder', p, l, proj[n][2])
        rmsNormParams(`${b}.input_layernorm`, h, 'encoder', p)
        rmsNormParams(`${b}.post_attention_layernorm`, h, 'encoder', p)
      }
      rmsNormParams('model.norm', h, 'encoder', p)
      if (c.tieWordEmbeddings) {
        l.push({ path: 'lm_head', inFeatures: h, outFeatures: c.vocabSize, bias: false, tiedWeight: EMBED })
        return { prefix: 'model', params: p, linears: l, outputModule: 'lm_head', tied: new Map([['lm_head.weight', EMBED]]) }
      }
      linearParams('lm_head', h, c.vocabSize, 'encoder', p, l, false)
      return { prefix: 'model', params: p, linears: l, outputModule: 'lm_head' }
    },
    hiddenStates(m, inputs, layout, ctx) {
      const c = m.config
      const { batchSize: b, seqLen: len } = inputs
      const heads = c.numAttentionHeads
      const kvHeads = c.numKeyValueHeads
      const d = c.headDim
      const rep = heads / kvHeads
      const flat = layout.rowIndex
      // A padding position computed anyway (dense layout) may carry any id: it reads row 0 of the
      // tables, and nothing reads its output.
      const positionOf = (f: number) => {
        const p = inputs.positionIds ? inputs.positionIds[f]! : f % len
        return inputs.attentionMask[f] === 0 && !(p >= 0 && p < c.maxPositionEmbeddings) ? 0 : p
      }
      const rowPositions = Int32Array.from({ length: layout.count }, (_, r) => positionOf(flat ? flat[r]! : r))
      const { cos, sinSigned } = ropeTable(c).rows(rowPositions)
      const rowIds = Int32Array.from({ length: layout.count }, (_, r) => inputs.inputIds[flat ? flat[r]! : r]!)
      return tf.tidy(() => {
        const cosT = tf.tensor3d(cos, [layout.count, 1, d])
        const sinT = tf.tensor3d(sinSigned, [layout.count, 1, d])
        const masks = new Map<number | null, tf.Tensor4D>()
        for (const w of new Set(c.layerWindows)) {
          masks.set(w, decoderMaskBias({ batchSize: b, seqLen: len, attentionMask: inputs.attentionMask, segmentIds: inputs.segmentIds ?? null, window: w }, rep))
        }
        let x: tf.Tensor = embedding(m.p(EMBED), tf.tensor1d(rowIds, 'int32'), c.padTokenId)
        const attn = { heads, kvHeads, headDim: d, dropoutRate: c.attentionDropout }
        for (let i = 0; i < c.numHiddenLayers; i++) {
          const pre = `model.layers.${i}`
          const a = `${pre}.self_attn`
          const mask = masks.get(c.layerWindows[i]!)!
          const block: Block = (input, [cosK, sinK, maskK, rowsK], bctx) => {
            // The row indices as given (a recomputation gets kept copies: the layout is disposed by then).
            const lay = rowsK ? layout.withRows(rowsK as tf.Tensor1D) : layout
            const rope = (t: tf.Tensor, n: number) => tf.reshape(applyRope(tf.reshape(t, [layout.count, n, d]), cosK!, sinK!), [layout.count, n * d])
            const n = rmsNorm(input, m.p(`${pre}.input_layernorm.weight`), c.rmsNormEps)
            const q = lay.toPadded(rope(m.lin(`${a}.q_proj`).forward(n, bctx), heads))
            const k = lay.toPadded(rope(m.lin(`${a}.k_proj`).forward(n, bctx), kvHeads))
            const v = lay.toPadded(m.lin(`${a}.v_proj`).forward(n, bctx))
            const context = lay.toRows(groupedQueryAttention(q, k, v, maskK as tf.Tensor4D, attn, bctx))
            const h = tf.add(input, m.lin(`${a}.o_proj`).forward(context, bctx))
            const mm = rmsNorm(h, m.p(`${pre}.post_attention_layernorm.weight`), c.rmsNormEps)
            const gated = siluGate(m.lin(`${pre}.mlp.gate_proj`).forward(mm, bctx), m.lin(`${pre}.mlp.up_proj`).forward(mm, bctx))
            return tf.add(h, m.lin(`${pre}.mlp.down_proj`).forward(gated, bctx))
          }
          const input = x
          // One scope per block: in eval its temporaries go at once (the tape keeps what backward
          // needs, or with checkpointing only the block's input).
          const constants = [cosT, sinT, mask, ...(layout.rows ? [layout.rows] : [])]
          x = tf.tidy(() => (ctx.checkpointing ? checkpointed(block, input, constants, m.trainable(`${pre}.`), ctx) : block(input, constants, ctx)))
          input.dispose()
        }
        return rmsNorm(x, m.p('model.norm.weight'), c.rmsNormEps) as tf.Tensor2D
      })
    },
  }
}

export const llama = familyOf('llama', 'LlamaForCausalLM')
export const mistral = familyOf('mistral', 'MistralForCausalLM')
export const qwen2 = familyOf('qwen2', 'Qwen2ForCausalLM')
