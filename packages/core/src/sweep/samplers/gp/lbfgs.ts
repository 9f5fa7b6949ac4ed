// A limited-memory BFGS minimiser with optional box bounds (projected L-BFGS: the quasi-Newton
// direction with the coordinates held at a bound removed, then a backtracking Armijo line search
// on the projection onto the box). Optuna fits the GP's hyperparameters and maximises the
// acquisition function with SciPy's L-BFGS-B; no maintained npm package offers a bounded
// quasi-Newton method (the numerical packages on npm stop at gradient descent and Nelder-Mead), and
// what the GP needs is this one small routine, so it is written here.

/** The objective and its gradient at x (the gradient written into `grad`). */
export type ValueAndGradient = (x: Float64Array, grad: Float64Array) => number

export interface MinimizeOptions {
  readonly lower?: Float64Array
  readonly upper?: Float64Array
  /** Stop once every projected gradient component is at most this (SciPy's pgtol / gtol). */
  readonly gtol?: number
  readonly maxIterations?: number
  /** Pairs of steps kept for the inverse Hessian estimate. */
  readonly memory?: number
}

export interface MinimizeResult {
  readonly x: Float64Array
  readonly value: number
  readonly iterations: number
}

export function minimize(fg: ValueAndGradient, x0: Float64Array, options: MinimizeOptions = {}): MinimizeResult {
  const { lower, upper, gtol = 1e-5, maxIterations = 200, memory = 10 } = options
  const n = x0.length
  const clamp = (x: Float64Array) => {
    if (lower) for (let i = 0; i < n; i++) if (x[i]! < lower[i]!) x[i] = lower[i]!
    if (upper) for (let i = 0; i < n; i++) if (x[i]! > upper[i]!) x[i] = upper[i]!
    return x
  }
  const atBound = (x: Float64Array, g: Float64Array, i: number) =>
    (lower !== undefined && x[i]! <= lower[i]! && g[i]! > 0) || (upper !== undefined && x[i]! >= upper[i]! && g[i]! < 0)

  let x = clamp(Float64Array.from(x0))
  let g = new Float64Array(n)
  let f = fg(x, g)
  if (!Number.isFinite(f)) return { x, value: f, iterations: 0 }
  const ss: Float64Array[] = []
  const ys: Float64Array[] = []
  const rhos: number[] = []
  const d = new Float64Array(n)
  const alphas = new Float64Array(memory)
  let iterations = 0

  for (; iterations < maxIterations; iterations++) {
    let pg = 0
    for (let i = 0; i < n; i++) if (!atBound(x, g, i)) pg = Math.max(pg, Math.abs(g[i]!))
    if (pg <= gtol) break

    // Two-loop recursion: d = -H g.
    for (let i = 0; i < n; i++) d[i] = -g[i]!
    for (let k = ss.length - 1; k >= 0; k--) {
      const a = rhos[k]! * dot(ss[k]!, d)
      alphas[k] = a
      axpy(-a, ys[k]!, d)
    }
    if (ss.length > 0) {
      const last = ss.length - 1
      const gamma = dot(ss[last]!, ys[last]!) / dot(ys[last]!, ys[last]!)
      for (let i = 0; i < n; i++) d[i]! *= gamma
    }
    for (let k = 0; k < ss.length; k++) {
      const b = rhos[k]! * dot(ys[k]!, d)
      axpy(alphas[k]! - b, ss[k]!, d)
    }
    for (let i = 0; i < n; i++) if (atBound(x, g, i)) d[i] = 0
    let slope = dot(g, d)
    if (!(slope < 0)) {
      // Not a descent direction (curvature went wrong): restart from steepest descent.
      ss.length = ys.length = rhos.length = 0
      for (let i = 0; i < n; i++) d[i] = atBound(x, g, i) ? 0 : -g[i]!
      slope = dot(g, d)
      if (!(slope < 0)) break
    }

    let t = ss.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1
    let accepted = false
    const xNew = new Float64Array(n)
    const gNew = new Float64Array(n)
    let fNew = f
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + t * d[i]!
      clamp(xNew)
      fNew = fg(xNew, gNew)
      let decrease = 0
      for (let i = 0; i < n; i++) decrease += g[i]! * (xNew[i]! - x[i]!)
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * decrease) {
        accepted = true
        break
      }
      t *= 0.5
    }
    if (!accepted) break
    const s = new Float64Array(n)
    const y = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!
      y[i] = gNew[i]! - g[i]!
    }
    const sy = dot(s, y)
    if (sy > 1e-10 * Math.max(1, dot(y, y))) {
      if (ss.length === memory) {
        ss.shift()
        ys.shift()
        rhos.shift()
      }
      ss.push(s)
      ys.push(y)
      rhos.push(1 / sy)
    }
    const change = f - fNew
    x = xNew
    g = gNew
    f = fNew
    if (change <= 1e-12 * Math.max(1, Math.abs(f))) {
      iterations++
      break
    }
  }
  return { x, value: f, iterations }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i]! += a * x[i]!
}
