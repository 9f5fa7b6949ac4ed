// `npm run bench`: throughput of the seed recipe, measured as ../shared/peer/bench_seed.py measures
// PyTorch: DistilBERT-base shapes (random weights: speed does not depend on values), LoRA r=8,
// alpha=16, dropout 0.05 on q_lin/v_lin with pre_classifier and classifier trained (or --mode full),
// batch 16 with dynamic padding, Adam(W) lr 2e-4 without weight decay; 2 warm-up steps, then
// --steps timed steps (tokens = real, unpadded tokens); eval: batches of 32 of the dev split, one
// warm-up batch, then --eval-batches timed batches.
// Data: the BERT token ids of SST-2 in ../shared/fixtures/golden/tokenizer-sst2.jsonl (the first
// 2,000 train sentences, shuffled with seed 42, and the dev split); without ../shared, random ids
// with SST-2's length distribution stand in (and the output says so).
//
// --peer: when python3 with torch is present, also runs ../shared/peer/bench_seed.py (the same
// recipe in PyTorch eager) right after, with the same mode, steps and threads, and prints both and
// the ratios (ours / PyTorch; for memory, peak RSS ours / theirs). The machine's load moves both.
//
// usage: npm run bench -- [--mode lora|full] [--steps N] [--eval-batches N] [--json] [--backend B]
//        [--threads T] [--blas auto|off|PATH] [--peer] [--profile N]
// --profile N: afterwards, N more train steps and N eval batches under tf.profile, and the time per
// op family (see profile.ts) for forward+backward, the optimizer and evaluation.
import * as tf from '@tensorflow/tfjs-core'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { selectBackend, describeBackend } from '../src/backend/select.ts'
import { describeBlas } from '../src/backend/blas/select.ts'
import { formatProfile, profilePhase, sumProfiles, type PhaseProfile } from './profile.ts'
import { createRandomModel, parseModelConfig } from '../src/models/index.ts'
import { injectLora, loraSettings } from '../src/lora/index.ts'
import { valueAndGrads } from '../src/nn/grads.ts'
import { crossEntropy } from '../src/nn/loss.ts'
import { Rng } from '../src/nn/rng.ts'
import { AdamW } from '../src/trainer/adamw.ts'

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'lora' },
    steps: { type: 'string', default: '20' },
    'eval-batches': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    backend: { type: 'string' },
    threads: { type: 'string' },
    blas: { type: 'string' },
    peer: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
})
const mode = args.mode === 'full' ? 'full' : 'lora'
const steps = Number(args.steps)
const evalBatches = Number(args['eval-batches'])

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const sharedDir = process.env.LORAPIPE_SHARED ?? join(repoRoot, '..', 'shared')
const haveShared = existsSync(join(sharedDir, 'fixtures', 'golden', 'tokenizer-sst2.jsonl'))

const log = (...a: unknown[]) => {
  if (!args.json) console.log(...a)
}

const backend = await selectBackend({ backend: args.backend, threads: args.threads ? Number(args.threads) : undefined, blas: args.blas })
log(`backend: ${describeBackend(backend)}`)

// DistilBERT-base (the published config; the same numbers are built in so a bare clone runs too)
const configPath = join(sharedDir, 'fixtures', 'configs', 'distilbert-base-uncased.config.json')
const rawConfig = existsSync(configPath)
  ? JSON.parse(readFileSync(configPath, 'utf8'))
  : {
      model_type: 'distilbert', activation: 'gelu', attention_dropout: 0.1, dim: 768, dropout: 0.1, hidden_dim: 3072,
      initializer_range: 0.02, max_position_embeddings: 512, n_heads: 12, n_layers: 6, pad_token_id: 0,
      qa_dropout: 0.1, seq_classif_dropout: 0.2, sinusoidal_pos_embds: false, vocab_size: 30522,
    }
const config = parseModelConfig(rawConfig, configPath, { numLabels: 2 })

interface Example {
  ids: number[]
  label: number
}

function loadData(): { train: Example[]; dev: Example[]; source: string } {
  const rng = new Rng(42)
  if (haveShared) {
    const rows = readFileSync(join(sharedDir, 'fixtures', 'golden', 'tokenizer-sst2.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { split: string; index: number; input_ids: number[] })
    const labelsOf = (file: string) =>
      readFileSync(join(sharedDir, 'data', 'sst2', file), 'utf8')
        .split('\n')
        .slice(1)
        .filter((l) => l)
        .map((l) => Number(l.slice(l.lastIndexOf('\t') + 1)))
    const trainLabels = labelsOf('train.tsv')
    const devLabels = labelsOf('dev.tsv')
    const train = rows.filter((r) => r.split === 'train').map((r) => ({ ids: r.input_ids, label: trainLabels[r.index]! }))
    const dev = rows.filter((r) => r.split === 'dev').map((r) => ({ ids: r.input_ids, label: devLabels[r.index]! }))
    // Fisher-Yates with the seeded stream (the peer shuffles the full train set with numpy seed 42)
    for (let i = train.length - 1; i > 0; i--) {
      const j = rng.nextUint32() % (i + 1)
      ;[train[i], train[j]] = [train[j]!, train[i]!]
    }
    return { train, dev, source: 'SST-2 token ids from ../shared (2,000 train sentences, shuffled with seed 42; dev split)' }
  }
  // SST-2-like lengths: train mean ~13 tokens (max 56), dev mean ~25 (max 55)
  const synth = (n: number, mean: number, max: number) =>
    Array.from({ length: n }, () => {
      const len = Math.min(max, Math.max(3, Math.round(mean * (0.3 + 1.4 * (rng.nextUint32() / 2 ** 32)))))
      const ids = [101, ...Array.from({ length: len - 2 }, () => 1000 + (rng.nextUint32() % 29000)), 102]
      return { ids, label: rng.nextUint32() % 2 }
    })
  return { train: synth(2000, 13.2, 56), dev: synth(872, 25.2, 55), source: 'synthetic ids with SST-2 lengths (../shared not found)' }
}

interface Batch {
  ids: tf.Tensor2D
  mask: tf.Tensor2D
  labels: tf.Tensor1D
  size: number
  tokens: number
}

function batches(data: Example[], bs: number): Batch[] {
  const out: Batch[] = []
  for (let i = 0; i < data.length; i += bs) {
    const chunk = data.slice(i, i + bs)
    const L = Math.max(...chunk.map((e) => e.ids.length))
    const ids = new Int32Array(chunk.length * L)
    const mask = new Int32Array(chunk.length * L)
    chunk.forEach((e, r) => {
      ids.set(e.ids, r * L)
      mask.fill(1, r * L, r * L + e.ids.length)
    })
    out.push({
      ids: tf.tensor2d(ids, [chunk.length, L], 'int32'),
      mask: tf.tensor2d(mask, [chunk.length, L], 'int32'),
      labels: tf.tensor1d(chunk.map((e) => e.label), 'int32'),
      size: chunk.length,
      tokens: chunk.reduce((s, e) => s + e.ids.length, 0),
    })
  }
  return out
}

const data = loadData()
log(`data: ${data.source}`)
const model = createRandomModel(config, { seed: 0 })
if (mode === 'lora') {
  injectLora(
    model,
    loraSettings({ r: 8, alpha: 16, dropout: 0.05, target_modules: ['q_lin', 'v_lin'], modules_to_save: ['pre_classifier', 'classifier'] }),
    { seed: 0 },
  )
} else {
  for (const p of model.namedParameters()) p.setTrainable(true)
}
const params = model.trainableParameters()
const count = (ps: { size: number }[]) => ps.reduce((s, p) => s + p.size, 0)
log(`model: ${model.name}, ${mode}: ${count(params).toLocaleString('en')} trainable of ${count(model.namedParameters()).toLocaleString('en')}`)

// The trainer's own AdamW (torch.optim.AdamW semantics) with weight_decay 0, as the peer.
const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 })
function adam(grads: Map<string, tf.Tensor>): void {
  optimizer.apply(grads, 2e-4)
  for (const g of grads.values()) g.dispose()
}

function step(b: Batch): void {
  const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(b.ids, b.mask, null, { training: true }), b.labels), params)
  value.dispose()
  adam(grads)
}

let dataStart = performance.now()
const trainBatches = batches(data.train, 16)
const dataMsPerTrainBatch = (performance.now() - dataStart) / trainBatches.length
if (trainBatches.length < 2 + steps) throw new Error(`--steps ${steps} needs ${2 + steps} batches, have ${trainBatches.length}`)
for (const b of trainBatches.slice(0, 2)) step(b)
let t = performance.now()
let n = 0
let tokens = 0
for (const b of trainBatches.slice(2, 2 + steps)) {
  step(b)
  n += b.size
  tokens += b.tokens
  if (!args.json) process.stdout.write(`\r  train step ${n / 16}/${steps}`)
}
const trainSeconds = (performance.now() - t) / 1000
log('')

dataStart = performance.now()
const allEval = batches(data.dev, 32)
const dataMsPerEvalBatch = (performance.now() - dataStart) / allEval.length
const evalSet = allEval.slice(0, evalBatches)
const evalBatch = (b: Batch) => tf.tidy(() => model.forward(b.ids, b.mask).dataSync())
evalBatch(evalSet[0]!)
t = performance.now()
let en = 0
for (const b of evalSet) {
  evalBatch(b)
  en += b.size
}
const evalSeconds = (performance.now() - t) / 1000

const result = {
  backend: backend.name,
  threads: backend.threads,
  /** what ran the matrix products: the BLAS library, or null for the backend's own kernels */
  blas: backend.blas ? describeBlas(backend.blas) : null,
  mode,
  data: haveShared ? 'sst2' : 'synthetic',
  steps,
  trainable: count(params),
  total: count(model.namedParameters()),
  train_samples_per_s: Math.round((n / trainSeconds) * 100) / 100,
  train_tokens_per_s: Math.round((tokens / trainSeconds) * 10) / 10,
  eval_samples_per_s: Math.round((en / evalSeconds) * 100) / 100,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}
interface PeerResult {
  peer: string
  train_samples_per_s: number
  train_tokens_per_s: number
  eval_samples_per_s: number
  peak_rss_mb: number
}

/** A python3 that imports torch, or why there is none. */
function findTorchPython(): { python: string } | { why: string } {
  for (const python of [process.env.LORAPIPE_PEER_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' })
    if (r.status === 0) return { python }
  }
  return { why: 'no python3 with torch found (Debian: apt-get install python3-torch; or set LORAPIPE_PEER_PYTHON)' }
}

/** Runs the peer script in a child python (so its memory is its own) and reads its JSON line and peak RSS. */
function runPeer(): PeerResult | { error: string } {
  const script = join(sharedDir, 'peer', 'bench_seed.py')
  if (!existsSync(script)) return { error: `${script} not found (the peer benchmark lives in ../shared/peer)` }
  const py = findTorchPython()
  if ('why' in py) return { error: py.why }
  // The wrapper adds the peak RSS of the python process (ru_maxrss is in KiB on Linux, bytes on macOS).
  const wrapper = [
    'import json, resource, runpy, sys',
    'sys.path.insert(0, sys.argv[1]); script = sys.argv[2]; sys.argv = sys.argv[2:]',
    'runpy.run_path(script, run_name="__main__")',
    'kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss',
    'print(json.dumps({"peak_rss_mb": round((kb / 1024 if sys.platform != "darwin" else kb / 1048576))}))',
  ].join('\n')
  const r = spawnSync(
    py.python,
    ['-c', wrapper, dirname(script), script, '--mode', mode, '--steps', String(steps), '--eval-batches', String(evalBatches), '--threads', String(backend.threads)],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  )
  if (r.status !== 0) return { error: `the peer benchmark failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` }
  const objs = r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  return Object.assign({}, ...objs) as PeerResult
}

const round2 = (x: number) => Math.round(x * 100) / 100
let output: Record<string, unknown> = result

if (args.profile) {
  const P = Math.max(1, Number(args.profile) || 3)
  const fb: PhaseProfile[] = []
  const opt: PhaseProfile[] = []
  const ev: PhaseProfile[] = []
  for (const b of trainBatches.slice(2 + steps, 2 + steps + P)) {
    let grads = new Map<string, tf.Tensor>()
    fb.push(
      await profilePhase(() => {
        const r = valueAndGrads(() => crossEntropy(model.forward(b.ids, b.mask, null, { training: true }), b.labels), params)
        r.value.dispose()
        grads = r.grads
      }),
    )
    opt.push(await profilePhase(() => adam(grads)))
  }
  for (const b of allEval.slice(0, P)) ev.push(await profilePhase(() => evalBatch(b)))
  const profile = {
    steps: fb.length,
    eval_batches: ev.length,
    train_forward_backward: sumProfiles(fb),
    train_optimizer: sumProfiles(opt),
    eval_forward: sumProfiles(ev),
    data_ms_per_train_batch: round2(dataMsPerTrainBatch),
    data_ms_per_eval_batch: round2(dataMsPerEvalBatch),
  }
  output = { ...output, profile }
  log(formatProfile(`train forward+backward, ${fb.length} steps`, profile.train_forward_backward))
  log(formatProfile(`optimizer, ${opt.length} steps`, profile.train_optimizer))
  log(formatProfile(`eval forward, ${ev.length} batches of 32`, profile.eval_forward))
  log(`data (batching, tensors): ${profile.data_ms_per_train_batch} ms per train batch, ${profile.data_ms_per_eval_batch} ms per eval batch`)
}
if (args.peer) {
  log('running the PyTorch peer (../shared/peer/bench_seed.py) ...')
  const peer = runPeer()
  const ratios =
    'error' in peer
      ? null
      : {
          train_samples_per_s: round2(result.train_samples_per_s / peer.train_samples_per_s),
          eval_samples_per_s: round2(result.eval_samples_per_s / peer.eval_samples_per_s),
          peak_rss: round2(result.peak_rss_mb / peer.peak_rss_mb),
        }
  output = { ...output, peer, ratios }
}

if (args.json) console.log(JSON.stringify(output))
else {
  console.log(`train: ${result.train_samples_per_s} samples/s, ${result.train_tokens_per_s} tokens/s (${steps} steps of 16)`)
  console.log(`eval:  ${result.eval_samples_per_s} samples/s (${evalSet.length} batches of 32)`)
  console.log(`peak RSS: ${result.peak_rss_mb} MB`)
  const peer = output.peer as PeerResult | { error: string } | undefined
  if (peer && 'error' in peer) console.log(`peer: ${peer.error}`)
  else if (peer) {
    const r = output.ratios as { train_samples_per_s: number; eval_samples_per_s: number; peak_rss: number }
    console.log(`peer (${peer.peer}, ${backend.threads} threads):`)
    console.log(`  train: ${peer.train_samples_per_s} samples/s  -> ours / theirs ${r.train_samples_per_s}x`)
    console.log(`  eval:  ${peer.eval_samples_per_s} samples/s  -> ours / theirs ${r.eval_samples_per_s}x`)
    console.log(`  peak RSS: ${peer.peak_rss_mb} MB  -> ours / theirs ${r.peak_rss}x`)
  }
}
