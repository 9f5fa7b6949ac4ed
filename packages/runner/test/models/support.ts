// Test support for the model and LoRA tests: backend setup, tiny configs, and an independent
// float64 reference forward pass written with plain loops (no tf.js), to check the models
// without ../shared.
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm')
  await tf.setBackend(name)
  await tf.ready()
}

export const TINY_DISTILBERT = {
  model_type: 'distilbert',
  vocab_size: 40,
  max_position_embeddings: 16,
  dim: 8,
  n_layers: 2,
  n_heads: 2,
  hidden_dim: 12,
  initializer_range: 0.2,
  id2label: { '0': 'neg', '1': 'pos', '2': 'neutral' },
}

export const TINY_BERT = {
  model_type: 'bert',
  vocab_size: 40,
  max_position_embeddings: 16,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 12,
  type_vocab_size: 2,
  initializer_range: 0.2,
  num_labels: 2,
}

/** Token ids / mask for a padded batch of 3 (lengths 7, 4, 1). */
export const BATCH = {
  ids: [
    [1, 5, 9, 13, 17, 21, 2],
    [1, 30, 31, 2, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0],
  ],
  mask: [
    [1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0],
  ],
  tokenTypes: [
    [0, 0, 0, 1, 1, 1, 1],
    [0, 0, 1, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
  ],
  labels: [2, 0, 1],
}

export function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))))
  return m
}

// ---- float64 reference -------------------------------------------------------------------------

type W = (name: string) => ArrayLike<number>
type Mat = number[][]

/** erf, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const s = x < 0 ? -1 : 1
  const a = Math.abs(x)
  const t = 1 / (1 + 0.3275911 * a)
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a)
  return s * y
}
const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2))

function lin(x: Mat, w: ArrayLike<number>, b: ArrayLike<number>, outF: number): Mat {
  const inF = x[0]!.length
  return x.map((row) => {
    const out: number[] = []
    for (let o = 0; o < outF; o++) {
      let s = b[o]!
      for (let i = 0; i < inF; i++) s += row[i]! * w[o * inF + i]!
      out.push(s)
    }
    return out
  })
}

function ln(x: Mat, g: ArrayLike<number>, b: ArrayLike<number>, eps: number): Mat {
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length
    const v = row.reduce((a, x) => a + (x - mean) ** 2, 0) / row.length
    return row.map((x, i) => ((x - mean) / Math.sqrt(v + eps)) * g[i]! + b[i]!)
  })
}

function attention(q: Mat, k: Mat, v: Mat, mask: number[], heads: number): Mat {
  const L = q.length
  const d = q[0]!.length
  const dh = d / heads
  const out: Mat = Array.from({ length: L }, () => new Array(d).fill(0))
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < L; i++) {
      const scores: number[] = []
      for (let j = 0; j < L; j++) {
        let s = 0
        for (let c = 0; c < dh; c++) s += q[i]![h * dh + c]! * k[j]![h * dh + c]!
        scores.push(mask[j] ? s / Math.sqrt(dh) : -Infinity)
      }
      const mx = Math.max(...scores)
      const e = scores.map((s) => (s === -Infinity ? 0 : Math.exp(s - mx)))
      const z = e.reduce((a, b) => a + b, 0)
      for (let j = 0; j < L; j++) for (let c = 0; c < dh; c++) out[i]![h * dh + c]! += (e[j]! / z) * v[j]![h * dh + c]!
    }
  }
  return out
}

/** Logits of DistilBertForSequenceClassification (eval mode), float64. */
export function referenceDistilbert(cfg: typeof TINY_DISTILBERT, w: W, ids: number[][], mask: number[][], numLabels: number): Mat {
  const D = cfg.dim
  return ids.map((seq, bi) => {
    let x: Mat = seq.map((t, p) => Array.from({ length: D }, (_, c) => w('distilbert.embeddings.word_embeddings.weight')[t * D + c]! + w('distilbert.embeddings.position_embeddings.weight')[p * D + c]!))
    x = ln(x, w('distilbert.embeddings.LayerNorm.weight'), w('distilbert.embeddings.LayerNorm.bias'), 1e-12)
    for (let l = 0; l < cfg.n_layers; l++) {
      const p = `distilbert.transformer.layer.${l}`
      const L = (n: string, inp: Mat, outF: number) => lin(inp, w(`${p}.${n}.weight`), w(`${p}.${n}.bias`), outF)
      const ctx = attention(L('attention.q_lin', x, D), L('attention.k_lin', x, D), L('attention.v_lin', x, D), mask[bi]!, cfg.n_heads)
      const sa = L('attention.out_lin', ctx, D)
      x = ln(sa.map((r, i) => r.map((v, c) => v + x[i]![c]!)), w(`${p}.sa_layer_norm.weight`), w(`${p}.sa_layer_norm.bias`), 1e-12)
      const f = L('ffn.lin2', L('ffn.lin1', x, cfg.hidden_dim).map((r) => r.map(gelu)), D)
      x = ln(f.map((r, i) => r.map((v, c) => v + x[i]![c]!)), w(`${p}.output_layer_norm.weight`), w(`${p}.output_layer_norm.bias`), 1e-12)
    }
    const h = lin([x[0]!], w('pre_classifier.weight'), w('pre_classifier.bias'), D).map((r) => r.map((v) => Math.max(0, v)))
    return lin(h, w('classifier.weight'), w('classifier.bias'), numLabels)[0]!
  })
}

/** Logits of BertForSequenceClassification (eval mode), float64. */
export function referenceBert(cfg: typeof TINY_BERT, w: W, ids: number[][], mask: number[][], types: number[][] | null, numLabels: number): Mat {
  const H = cfg.hidden_size
  return ids.map((seq, bi) => {
    let x: Mat = seq.map((t, p) =>
      Array.from({ length: H }, (_, c) =>
        w('bert.embeddings.word_embeddings.weight')[t * H + c]! +
        w('bert.embeddings.token_type_embeddings.weight')[(types ? types[bi]![p]! : 0) * H + c]! +
        w('bert.embeddings.position_embeddings.weight')[p * H + c]!,
      ),
    )
    x = ln(x, w('bert.embeddings.LayerNorm.weight'), w('bert.embeddings.LayerNorm.bias'), 1e-12)
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      const p = `bert.encoder.layer.${l}`
      const L = (n: string, inp: Mat, outF: number) => lin(inp, w(`${p}.${n}.weight`), w(`${p}.${n}.bias`), outF)
      const ctx = attention(L('attention.self.query', x, H), L('attention.self.key', x, H), L('attention.self.value', x, H), mask[bi]!, cfg.num_attention_heads)
      const ao = L('attention.output.dense', ctx, H)
      const a = ln(ao.map((r, i) => r.map((v, c) => v + x[i]![c]!)), w(`${p}.attention.output.LayerNorm.weight`), w(`${p}.attention.output.LayerNorm.bias`), 1e-12)
      const o = L('output.dense', L('intermediate.dense', a, cfg.intermediate_size).map((r) => r.map(gelu)), H)
      x = ln(o.map((r, i) => r.map((v, c) => v + a[i]![c]!)), w(`${p}.output.LayerNorm.weight`), w(`${p}.output.LayerNorm.bias`), 1e-12)
    }
    const pooled = lin([x[0]!], w('bert.pooler.dense.weight'), w('bert.pooler.dense.bias'), H).map((r) => r.map(Math.tanh))
    return lin(pooled, w('classifier.weight'), w('classifier.bias'), numLabels)[0]!
  })
}
