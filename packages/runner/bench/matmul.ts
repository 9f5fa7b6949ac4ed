// Microbenchmark of the matmul forms a transformer trains with, tfjs' own (matMul with transposes,
// its default gradients) against ours (ops/linear.ts, ops/matmul.ts), on the wasm kernels, and
// (when a system BLAS is found) our forms on BLAS: GFLOPS per form.
// usage: node --import tsx packages/runner/bench/matmul.ts [--backend wasm] [--threads T] [--reps N]
import * as tf from '@tensorflow/tfjs-core'
import { parseArgs } from 'node:util'
import '../src/nn/register-gradients.ts'
import { selectBackend, describeBackend } from '../src/backend/select.ts'
import { linear } from '../src/ops/linear.ts'
import { batchMatMul, setMatmulStrategy, type MatmulStrategy } from '../src/ops/matmul.ts'
import { activeBlas, useBlasKernels } from '../src/backend/blas/kernels.ts'

const { values: args } = parseArgs({
  options: { backend: { type: 'string', default: 'wasm' }, threads: { type: 'string' }, reps: { type: 'string', default: '3' } },
})
const info = await selectBackend({ backend: args.backend, threads: args.threads ? Number(args.threads) : undefined })
console.log(`backend: ${describeBackend(info)}`)
const reps = Number(args.reps)

function gflops(flops: number, f: () => void): number {
  f() // warm-up (builds cached transposes and XNNPACK operators, as a training step would)
  const t = performance.now()
  for (let i = 0; i < reps; i++) f()
  return flops / ((performance.now() - t) / reps) / 1e6
}

const M = 512 // tokens in a batch (e.g. 16 x 32)
const forms: { name: string; flops: number; run: (s: MatmulStrategy) => () => void }[] = []
const x = tf.randomNormal([M, 768]) as tf.Tensor2D
const w = tf.randomNormal([3072, 768]) as tf.Tensor2D // frozen, PyTorch [out, in]
const wv = tf.variable(tf.randomNormal([3072, 768]) as tf.Tensor2D) // trained
const dyL = tf.randomNormal([M, 3072])
const lin = (ww: tf.Tensor2D, wrtW: boolean) => () =>
  tf.tidy(() => {
    const xs: tf.Tensor[] = wrtW ? [x, ww] : [x]
    tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(linear(a[0]!, (a[1] ?? ww) as tf.Tensor2D), dyL)))(xs)
  })
const flop = 2 * M * 768 * 3072
forms.push({ name: 'linear forward [512,768] x W[3072,768]^T', flops: flop, run: () => () => tf.tidy(() => void linear(x, w)) })
forms.push({ name: 'linear fwd+bwd, W frozen (dx only)', flops: 2 * flop, run: () => lin(w, false) })
forms.push({ name: 'linear fwd+bwd, W trained (dx, dW)', flops: 3 * flop, run: () => lin(wv, true) })
const r = 8
const A = tf.variable(tf.randomNormal([r, 768]) as tf.Tensor2D)
const B = tf.variable(tf.randomNormal([768, r]) as tf.Tensor2D)
const dyR = tf.randomNormal([M, 768])
forms.push({
  name: 'LoRA B(A(x)) fwd+bwd, r=8 (dx, dA, dB)',
  flops: 3 * 2 * 2 * M * 768 * r,
  run: () => () =>
    tf.tidy(() => {
      tf.grads((xx: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(linear(linear(xx, a as tf.Tensor2D), b as tf.Tensor2D), dyR)))([x, A, B])
    }),
})
const G = 16 * 12
for (const L of [32, 64]) {
  const q = tf.randomNormal([G, L, 64]) as tf.Tensor3D
  const k = tf.randomNormal([G, L, 64]) as tf.Tensor3D
  const p = tf.randomNormal([G, L, L]) as tf.Tensor3D
  const f = 2 * G * L * L * 64
  forms.push({ name: `attention Q K^T [${G},${L},64] forward`, flops: f, run: () => () => tf.tidy(() => void batchMatMul(q, k, false, true)) })
  forms.push({ name: `attention P V [${G},${L},${L}]x[${G},${L},64] forward`, flops: f, run: () => () => tf.tidy(() => void batchMatMul(p, k)) })
  forms.push({
    name: `attention Q K^T then P V, fwd+bwd (L=${L})`,
    flops: 6 * f,
    run: () => () =>
      tf.tidy(() => {
        tf.grads((qq: tf.Tensor, kk: tf.Tensor) => {
          const s = batchMatMul(qq as tf.Tensor3D, kk as tf.Tensor3D, false, true)
          return tf.sum(batchMatMul(s, kk as tf.Tensor3D))
        })([q, k])
      }),
  })
}

const blas = activeBlas()
const columns: MatmulStrategy[] = blas ? ['tfjs', 'fast', 'blas'] : ['tfjs', 'fast']
console.log(`${'form'.padEnd(52)} ${'tfjs'.padStart(8)} ${'ours'.padStart(8)}${blas ? ' ours+BLAS'.padStart(10) : ''}  GFLOPS`)
for (const f of forms) {
  const out: number[] = []
  for (const s of columns) {
    useBlasKernels(s === 'blas' ? blas : null)
    setMatmulStrategy(s)
    out.push(gflops(f.flops, f.run(s)))
  }
  setMatmulStrategy(undefined)
  console.log(`${f.name.padEnd(52)} ${out.map((v) => v.toFixed(1).padStart(8)).join(' ')}`)
}
useBlasKernels(blas)
