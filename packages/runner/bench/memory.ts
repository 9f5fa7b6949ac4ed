// `npm run bench:memory`: peak memory of causal-LM LoRA training steps, as the trainer runs them
// (wasm backend, matrix products on the system BLAS when found): a randomly initialised model of a
// published config (default ../shared/fixtures/configs/smollm2-135m.json; weights do not change
// memory), LoRA r=8, alpha=16, dropout 0.05 on q_proj,v_proj, batches of [batch, seq] tokens, every
// token labelled (packed rows: the most the loss can read), forward + loss + backward + AdamW.
// Prints, per step and at the end: the engine's peak tensor bytes during the step (tf.profile),
// the tensor bytes at rest (tf.memory()), the wasm heap (it grows and never shrinks), the process's
// peak RSS, and the step time. The requirement: 135M parameters at batch 8 x 512 tokens
// fit comfortably in 24 GB.
//
// usage: npm run bench:memory -- [--config FILE] [--batch 8] [--seq 512] [--steps 1] [--r 8]
//        [--targets q_proj,v_proj] [--checkpointing] [--backend B] [--threads T] [--blas auto|off|PATH] [--json]
// A benchmark, not a test: it takes minutes on 2 cores.
import * as tf from '@tensorflow/tfjs-core'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { selectBackend, describeBackend } from '../src/backend/select.ts'
import { createRandomCausalLm, parseModelConfig, causalLmLoss, labelledTokens } from '../src/models/index.ts'
import { injectLora, loraSettings } from '../src/lora/index.ts'
import { valueAndGrads } from '../src/nn/grads.ts'
import { Rng } from '../src/nn/rng.ts'
import { AdamW } from '../src/trainer/adamw.ts'

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '512' },
    steps: { type: 'string', default: '1' },
    r: { type: 'string', default: '8' },
    targets: { type: 'string', default: 'q_proj,v_proj' },
    checkpointing: { type: 'boolean', default: false },
    backend: { type: 'string' },
    threads: { type: 'string' },
    blas: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
})
const log = (...a: unknown[]) => {
  if (!args.json) console.log(...a)
}
const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const sharedDir = process.env.LORAPIPE_SHARED ?? join(repoRoot, '..', 'shared')
const configPath = args.config ?? join(sharedDir, 'fixtures', 'configs', 'smollm2-135m.json')
if (!existsSync(configPath)) {
  console.error(`error: ${configPath} not found; give a decoder config.json with --config (the published ones are in ../shared/fixtures/configs)`)
  process.exit(2)
}
const batch = Number(args.batch)
const seq = Number(args.seq)
const steps = Number(args.steps)
const r = Number(args.r)

const backend = await selectBackend({ backend: args.backend, threads: args.threads ? Number(args.threads) : undefined, blas: args.blas })
log(`backend: ${describeBackend(backend)}`)
const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
const wasmHeap = () => {
  const w = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm
  return w?.HEAPU8 ? w.HEAPU8.buffer.byteLength : null
}

const config = parseModelConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath)
const model = createRandomCausalLm(config, { seed: 0 })
injectLora(model, loraSettings({ r, alpha: 2 * r, dropout: 0.05, target_modules: args.targets.split(',') }), { seed: 0 })
const count = model.countParameters()
log(`model: ${model.name} from ${configPath}, ${count.trainable.toLocaleString('en')} trainable of ${count.total.toLocaleString('en')}`)
const params = model.trainableParameters()
const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 })
const atRest = tf.memory().numBytes
log(`tensors at rest (weights, LoRA, AdamW state): ${mb(atRest)} MiB; peak RSS so far ${mb(process.resourceUsage().maxRSS * 1024)} MiB`)

const rng = new Rng(1)
const n = batch * seq
const inputIds = Int32Array.from({ length: n }, () => rng.nextUint32() % config.vocabSize)
const data = { batchSize: batch, seqLen: seq, inputIds, attentionMask: new Int32Array(n).fill(1), labels: Int32Array.from(inputIds) }
const numItemsInBatch = labelledTokens(data.labels, batch, seq)

interface StepFigures {
  step: number
  seconds: number
  loss: number
  tensor_peak_mb: number
  wasm_heap_mb: number | null
  peak_rss_mb: number
}
const figures: StepFigures[] = []
for (let s = 1; s <= steps; s++) {
  const t = performance.now()
  let loss = NaN
  const profile = await tf.profile(() => {
    const { value, grads } = valueAndGrads(
      () => causalLmLoss(model, data, { training: true, numItemsInBatch, ...(args.checkpointing ? { checkpointing: true } : {}) }),
      params,
    )
    loss = value.dataSync()[0]!
    value.dispose()
    optimizer.apply(grads, 1e-4)
    tf.dispose([...grads.values()])
  })
  const f: StepFigures = {
    step: s,
    seconds: Math.round((performance.now() - t) / 100) / 10,
    loss: Math.round(loss * 1e4) / 1e4,
    tensor_peak_mb: mb(profile.peakBytes),
    wasm_heap_mb: wasmHeap() === null ? null : mb(wasmHeap()!),
    peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
  }
  figures.push(f)
  log(`step ${s}: ${f.seconds} s, loss ${f.loss}, tensor peak ${f.tensor_peak_mb} MiB, wasm heap ${f.wasm_heap_mb ?? '-'} MiB, peak RSS ${f.peak_rss_mb} MiB`)
}
const result = {
  config: configPath,
  backend: backend.name,
  blas: backend.blas !== null,
  threads: backend.threads,
  batch,
  seq,
  lora: { r, alpha: 2 * r, targets: args.targets.split(',') },
  checkpointing: args.checkpointing,
  trainable: count.trainable,
  total: count.total,
  tensors_at_rest_mb: mb(atRest),
  tensors_after_mb: mb(tf.memory().numBytes),
  tensor_peak_mb: Math.max(...figures.map((f) => f.tensor_peak_mb)),
  wasm_heap_mb: figures.at(-1)?.wasm_heap_mb ?? null,
  peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
  steps: figures,
}
if (args.json) console.log(JSON.stringify(result))
else log(JSON.stringify(result, null, 2))
