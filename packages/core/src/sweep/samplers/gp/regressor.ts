// Gaussian-process regression as Optuna's GPSampler does it (optuna/_gp/gp.py, prior.py):
// a Matern 5/2 kernel with one inverse squared lengthscale per coordinate (ARD), a kernel scale
// and a noise variance,
//   k(x, x') = scale * matern52(sum_j rho_j d_j(x, x')),  d_j = (x_j - x'_j)^2, or [x_j != x'_j]
//   for a choice, matern52(r^2) = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r),
// fitted to standardised objective values by maximising the marginal likelihood times Optuna's
// priors (a gamma(2, 1) on the scale, gamma(1.1, 30) on the noise, exp(-0.1 / rho - 0.1 rho) on
// each rho) with L-BFGS over the logs of the parameters, starting from all ones.
//
// Linear algebra is written here, on flat row-major Float64Arrays, rather than taken from
// ml-matrix (the maintained npm matrix library): fitting the kernel factorises and inverts the
// n x n covariance (n: trials so far) some 30-40 times per suggestion, and at n = 100 ml-matrix
// spends 1.8 ms converting the array into its row objects and 1 ms copying the factor out, around
// a 1.2 ms factorisation that takes 1 ms here, and its solve() inverts 10x slower than
// inverseFromCholesky (it walks columns through get/set calls). The tests check these routines
// against ml-matrix's CholeskyDecomposition and solve().
import { minimize } from './lbfgs.ts'

const SQRT5 = Math.sqrt(5)
/** Optuna's DEFAULT_MINIMUM_NOISE_VAR: keeps the covariance invertible with repeated points. */
export const MINIMUM_NOISE = 1e-6

export interface KernelParameters {
  /** One per coordinate: 1 / lengthscale^2. */
  readonly inverseSquaredLengthscales: Float64Array
  readonly scale: number
  readonly noise: number
}

/** matern52 as a function of the squared scaled distance, and its derivative in that. */
export function matern52(r2: number): number {
  const r = Math.sqrt(5 * r2)
  return Math.exp(-r) * (1 + r + (5 / 3) * r2)
}

function matern52Derivative(r2: number): number {
  const r = Math.sqrt(5 * r2)
  return (-5 / 6) * (1 + r) * Math.exp(-r)
}

/** Per-coordinate squared distances of two points (a choice: 0 or 1). */
function distances(a: Float64Array, b: Float64Array, categorical: readonly boolean[], out: Float64Array): void {
  for (let j = 0; j < a.length; j++) {
    const d = a[j]! - b[j]!
    out[j] = categorical[j] ? (d === 0 ? 0 : 1) : d * d
  }
}

export function kernel(p: KernelParameters, a: Float64Array, b: Float64Array, categorical: readonly boolean[]): number {
  let r2 = 0
  for (let j = 0; j < a.length; j++) {
    const d = a[j]! - b[j]!
    r2 += p.inverseSquaredLengthscales[j]! * (categorical[j] ? (d === 0 ? 0 : 1) : d * d)
  }
  return p.scale * matern52(r2)
}

/** The lower Cholesky factor of a symmetric positive definite n x n matrix (flat, row-major), or undefined. */
export function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n)
  for (let j = 0; j < n; j++) {
    const rj = j * n
    let diag = a[rj + j]!
    for (let k = 0; k < j; k++) {
      const rk = k * n
      let s = a[rj + k]!
      for (let i = 0; i < k; i++) s -= l[rk + i]! * l[rj + i]!
      s /= l[rk + k]!
      l[rj + k] = s
      diag -= s * s
    }
    // Not positive definite, or NaN/Infinity from extreme parameters during the fit.
    if (!(diag > 0) || !Number.isFinite(diag)) return undefined
    l[rj + j] = Math.sqrt(diag)
  }
  return l
}

/** x with L x = b (L lower triangular, flat), overwriting b. */
export function forwardSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i]!
    const row = i * n
    for (let k = 0; k < i; k++) s -= l[row + k]! * b[k]!
    b[i] = s / l[row + i]!
  }
  return b
}

/** x with L^T x = b, overwriting b. */
export function backSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k]!
    b[i] = s / l[i * n + i]!
  }
  return b
}

/** (L L^T)^-1 from L: L^-1 by forward substitution, then (L^-1)^T L^-1; rows innermost, for the cache. */
function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  const linv = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    // Row i of L^-1: (e_i - sum_{k<i} L[i][k] row_k(L^-1)) / L[i][i].
    const row = i * n
    linv[row + i] = 1
    for (let k = 0; k < i; k++) {
      const a = l[row + k]!
      if (a === 0) continue
      const rk = k * n
      for (let c = 0; c <= k; c++) linv[row + c]! -= a * linv[rk + c]!
    }
    const diag = l[row + i]!
    for (let c = 0; c <= i; c++) linv[row + c]! /= diag
  }
  const inv = new Float64Array(n * n)
  for (let k = 0; k < n; k++) {
    const rk = k * n
    for (let i = 0; i <= k; i++) {
      const a = linv[rk + i]!
      const ri = i * n
      for (let j = 0; j <= i; j++) inv[ri + j]! += a * linv[rk + j]!
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) inv[j * n + i] = inv[i * n + j]!
  return inv
}

/** A Gaussian process conditioned on points X with values y, for fixed kernel parameters. */
export class GaussianProcess {
  readonly n: number
  private readonly l: Float64Array
  /** K^-1 y. */
  private readonly alpha: Float64Array
  /** K^-1, for the posterior variance and its gradient. */
  private readonly kInv: Float64Array
  private readonly k = new Float64Array(0)
  private readonly kInvK: Float64Array

  private constructor(
    readonly params: KernelParameters,
    readonly xs: readonly Float64Array[],
    readonly ys: Float64Array,
    readonly categorical: readonly boolean[],
    l: Float64Array,
  ) {
    this.n = xs.length
    this.l = l
    this.alpha = backSolve(l, this.n, forwardSolve(l, this.n, Float64Array.from(ys)))
    this.kInv = inverseFromCholesky(l, this.n)
    this.k = new Float64Array(this.n)
    this.kInvK = new Float64Array(this.n)
  }

  /** The process for these parameters, or undefined when the covariance is not positive definite. */
  static condition(params: KernelParameters, xs: readonly Float64Array[], ys: Float64Array, categorical: readonly boolean[]): GaussianProcess | undefined {
    const l = cholesky(covariance(params, xs, categorical), xs.length)
    return l && new GaussianProcess(params, xs, ys, categorical, l)
  }

  /** Posterior mean and variance at x. */
  posterior(x: Float64Array): { mean: number; variance: number } {
    const { n, k } = this
    let mean = 0
    for (let i = 0; i < n; i++) {
      k[i] = kernel(this.params, x, this.xs[i]!, this.categorical)
      mean += k[i]! * this.alpha[i]!
    }
    let quad = 0
    for (let i = 0; i < n; i++) {
      let s = 0
      const row = i * n
      for (let j = 0; j < n; j++) s += this.kInv[row + j]! * k[j]!
      quad += k[i]! * s
    }
    return { mean, variance: Math.max(0, this.params.scale - quad) }
  }

  /**
   * Posterior mean and variance at x with their gradients in the coordinates `continuous`
   * (written into dMean and dVariance at those indices).
   */
  posteriorWithGradient(x: Float64Array, continuous: readonly number[], dMean: Float64Array, dVariance: Float64Array): { mean: number; variance: number } {
    const { n, k, kInvK } = this
    const rho = this.params.inverseSquaredLengthscales
    const derivs = new Float64Array(n)
    let mean = 0
    let r2: number
    for (let i = 0; i < n; i++) {
      const xi = this.xs[i]!
      r2 = 0
      for (let j = 0; j < x.length; j++) {
        const d = x[j]! - xi[j]!
        r2 += rho[j]! * (this.categorical[j] ? (d === 0 ? 0 : 1) : d * d)
      }
      k[i] = this.params.scale * matern52(r2)
      derivs[i] = this.params.scale * matern52Derivative(r2)
      mean += k[i]! * this.alpha[i]!
    }
    let quad = 0
    for (let i = 0; i < n; i++) {
      let s = 0
      const row = i * n
      for (let j = 0; j < n; j++) s += this.kInv[row + j]! * k[j]!
      kInvK[i] = s
      quad += k[i]! * s
    }
    for (const j of continuous) {
      let dm = 0
      let dv = 0
      for (let i = 0; i < n; i++) {
        // dk_i/dx_j = scale * matern52'(r2_i) * 2 rho_j (x_j - X_ij)
        const dk = derivs[i]! * 2 * rho[j]! * (x[j]! - this.xs[i]![j]!)
        dm += this.alpha[i]! * dk
        dv -= 2 * kInvK[i]! * dk
      }
      dMean[j] = dm
      dVariance[j] = dv
    }
    return { mean, variance: Math.max(0, this.params.scale - quad) }
  }

  /** log marginal likelihood of y. */
  logMarginalLikelihood(): number {
    let logDet = 0
    for (let i = 0; i < this.n; i++) logDet += Math.log(this.l[i * this.n + i]!)
    let quad = 0
    for (let i = 0; i < this.n; i++) quad += this.ys[i]! * this.alpha[i]!
    return -0.5 * quad - logDet - 0.5 * this.n * Math.log(2 * Math.PI)
  }
}

function covariance(params: KernelParameters, xs: readonly Float64Array[], categorical: readonly boolean[]): Float64Array {
  const n = xs.length
  const c = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = kernel(params, xs[i]!, xs[j]!, categorical)
      c[i * n + j] = v
      c[j * n + i] = v
    }
    c[i * n + i] = params.scale + params.noise
  }
  return c
}

/** Optuna's default_log_prior (without its constants). */
export function logPrior(p: KernelParameters): number {
  let s = 0
  for (const rho of p.inverseSquaredLengthscales) s -= 0.1 / rho + 0.1 * rho
  return s + (Math.log(p.scale) - p.scale) + (0.1 * Math.log(p.noise) - 30 * p.noise)
}

/** Parameters from the optimiser's unconstrained vector [log rho..., log scale, log(noise - minimum)]. */
function unpack(raw: Float64Array, d: number): KernelParameters {
  return {
    inverseSquaredLengthscales: Float64Array.from(raw.subarray(0, d), Math.exp),
    scale: Math.exp(raw[d]!),
    noise: Math.exp(raw[d + 1]!) + MINIMUM_NOISE,
  }
}

/** Per-coordinate squared distances of every pair i > j, at [(i n + j) d + q]: fixed while the parameters are fitted. */
export function pairwiseDistances(xs: readonly Float64Array[], categorical: readonly boolean[]): Float64Array {
  const n = xs.length
  const d = categorical.length
  const out = new Float64Array(n * n * d)
  const dist = new Float64Array(d)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      distances(xs[i]!, xs[j]!, categorical, dist)
      out.set(dist, (i * n + j) * d)
    }
  }
  return out
}

/**
 * -(log marginal likelihood + log prior) and its gradient in the raw parameters:
 * d logML / d theta = 1/2 tr((alpha alpha^T - K^-1) dK/d theta).
 */
export function negativeLogPosterior(raw: Float64Array, grad: Float64Array, pairs: Float64Array, ys: Float64Array, d: number): number {
  const n = ys.length
  const p = unpack(raw, d)
  const rho = p.inverseSquaredLengthscales
  const kmat = new Float64Array(n * n)
  const deriv = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const at = (i * n + j) * d
      let r2 = 0
      for (let q = 0; q < d; q++) r2 += rho[q]! * pairs[at + q]!
      const v = p.scale * matern52(r2)
      kmat[i * n + j] = kmat[j * n + i] = v
      deriv[i * n + j] = p.scale * matern52Derivative(r2)
    }
    kmat[i * n + i] = p.scale + p.noise
  }
  const l = cholesky(kmat, n)
  if (!l) {
    grad.fill(0)
    return Infinity
  }
  const alpha = backSolve(l, n, forwardSolve(l, n, Float64Array.from(ys)))
  const kInv = inverseFromCholesky(l, n)
  let logDet = 0
  let quad = 0
  for (let i = 0; i < n; i++) {
    logDet += Math.log(l[i * n + i]!)
    quad += ys[i]! * alpha[i]!
  }
  const logLik = -0.5 * quad - logDet - 0.5 * n * Math.log(2 * Math.PI)

  grad.fill(0)
  let traceW = 0
  let scaleTerm = 0
  for (let i = 0; i < n; i++) {
    const wii = alpha[i]! * alpha[i]! - kInv[i * n + i]!
    traceW += wii
    scaleTerm += wii * p.scale
    for (let j = 0; j < i; j++) {
      // W = alpha alpha^T - K^-1 is symmetric: the pair (i, j) counts twice.
      const w = 2 * (alpha[i]! * alpha[j]! - kInv[i * n + j]!)
      scaleTerm += w * kmat[i * n + j]!
      const wd = w * deriv[i * n + j]!
      const at = (i * n + j) * d
      for (let q = 0; q < d; q++) grad[q]! += wd * pairs[at + q]!
    }
  }
  // The log posterior's gradient (dK/dlog rho_q = scale matern52' D_q rho_q), negated.
  for (let q = 0; q < d; q++) grad[q] = -(0.5 * grad[q]! * rho[q]! + (0.1 / rho[q]! - 0.1 * rho[q]!))
  const noiseRaw = p.noise - MINIMUM_NOISE
  grad[d] = -(0.5 * scaleTerm + (1 - p.scale))
  grad[d + 1] = -(0.5 * traceW * noiseRaw + (0.1 / p.noise - 30) * noiseRaw)
  return -(logLik + logPrior(p))
}

/**
 * The kernel parameters that maximise the marginal likelihood times the prior, from all ones
 * (Optuna's start without a cache; SciPy's gtol 1e-2 as Optuna's), or all ones when that fails.
 */
export function fitKernelParameters(xs: readonly Float64Array[], ys: Float64Array, categorical: readonly boolean[]): KernelParameters {
  const d = categorical.length
  const start = new Float64Array(d + 2)
  start[d + 1] = Math.log(1 - MINIMUM_NOISE)
  const pairs = pairwiseDistances(xs, categorical)
  const result = minimize((raw, grad) => negativeLogPosterior(raw, grad, pairs, ys, d), start, { gtol: 1e-2, maxIterations: 100 })
  if (!Number.isFinite(result.value) || result.x.some((v) => !Number.isFinite(v))) return unpack(start, d)
  return unpack(result.x, d)
}
