// Where a step's time goes, by op family, from tf.profile's per-kernel wall times. Kernels are
// grouped by name and shape: 2-D products are the linear layers (and LoRA), batched products,
// depthwise convolutions (the wasm path's batched product) and Softmax are attention; gathers and
// scatters are the embeddings and the unpadded-token layout; transposes/reshapes/casts are layout;
// the rest (add, mul, rsqrt, mean, sigmoid, ...) and our own WebAssembly kernels for layer norm
// and GELU are the layer norms, GELU, softmax's gradient, dropout and the loss; the fused AdamW
// kernel is the optimizer. Composite ops (our other Lorapipe* kernels, customGrad functions) run
// other kernels inside and are not counted themselves. "JS overhead" is the phase's wall time minus
// the kernels' time.
import * as tf from '@tensorflow/tfjs-core'
import { ADAMW_KERNEL } from '../src/backend/adamw-kernel.ts'
import { wasmKernelsOfOurs } from '../src/backend/wasm-module.ts'

export type Family = 'matmul (linear)' | 'attention' | 'layernorm/GELU/softmax/elementwise' | 'embedding/gather' | 'layout (transpose/reshape)' | 'optimizer (fused AdamW)'

function family(k: { name: string; inputShapes: (number[] | null)[] }): Family | null {
  const n = k.name
  // Our WebAssembly kernels (backend/*-kernel.ts) are kernels of their own, not composites.
  if (n === ADAMW_KERNEL) return 'optimizer (fused AdamW)'
  if (wasmKernelsOfOurs.has(n)) return 'layernorm/GELU/softmax/elementwise'
  // Composite ops (our Lorapipe* kernels, customGrad's forward functions, recorded under their
  // scope's name) contain kernels that are recorded themselves.
  if (n.startsWith('Lorapipe') || tf.getKernel(n, tf.getBackend()) === undefined) return null
  if (n === 'BatchMatMul' || n === '_FusedMatMul') {
    const a = k.inputShapes[0] ?? []
    const batch = a.length > 2 ? a.slice(0, -2).reduce((x, y) => x * y, 1) : 1
    return batch > 1 ? 'attention' : 'matmul (linear)'
  }
  if (n === 'DepthwiseConv2dNative' || n === 'Softmax') return 'attention'
  if (n === 'GatherV2' || n === 'UnsortedSegmentSum' || n === 'OneHot') return 'embedding/gather'
  if (n === 'Transpose' || n === 'Reshape' || n === 'Identity' || n === 'Cast' || n === 'Concat' || n === 'Slice' || n === 'Pad') {
    return 'layout (transpose/reshape)'
  }
  return 'layernorm/GELU/softmax/elementwise'
}

export interface PhaseProfile {
  /** wall time of the phase, ms */
  readonly wall_ms: number
  /** kernel time by family, ms */
  readonly families: Record<string, number>
  /** wall minus kernels, ms */
  readonly js_overhead_ms: number
}

/** Runs f under tf.profile and splits its wall time by family. */
export async function profilePhase(f: () => void): Promise<PhaseProfile> {
  const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS')
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false)
  const t = performance.now()
  let wall = 0
  const info = await tf.profile(() => {
    f()
    wall = performance.now() - t
  })
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check)
  const families: Record<string, number> = {}
  let kernels = 0
  for (const k of info.kernels) {
    const fam = family(k as unknown as { name: string; inputShapes: (number[] | null)[] })
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0
    if (!fam) continue
    families[fam] = (families[fam] ?? 0) + ms
    kernels += ms
  }
  return { wall_ms: wall, families, js_overhead_ms: Math.max(0, wall - kernels) }
}

/** Sums phase profiles (several steps) and rounds to 0.1 ms. */
export function sumProfiles(ps: PhaseProfile[]): PhaseProfile {
  const families: Record<string, number> = {}
  for (const p of ps) for (const [k, v] of Object.entries(p.families)) families[k] = (families[k] ?? 0) + v
  const r = (x: number) => Math.round(x * 10) / 10
  return {
    wall_ms: r(ps.reduce((s, p) => s + p.wall_ms, 0)),
    families: Object.fromEntries(Object.entries(families).map(([k, v]) => [k, r(v)])),
    js_overhead_ms: r(ps.reduce((s, p) => s + p.js_overhead_ms, 0)),
  }
}

/** A text table: one row per family with ms and share of the phase's wall time. */
export function formatProfile(title: string, p: PhaseProfile): string {
  const rows = [...Object.entries(p.families), ['JS overhead (wall - kernels)', p.js_overhead_ms] as [string, number]].sort((a, b) => b[1] - a[1])
  const pct = (v: number) => `${((100 * v) / Math.max(p.wall_ms, 1e-9)).toFixed(1)}%`
  return [`${title}: ${p.wall_ms.toFixed(1)} ms`, ...rows.map(([k, v]) => `  ${k.padEnd(36)} ${v.toFixed(1).padStart(9)} ms ${pct(v).padStart(7)}`)].join('\n')
}
