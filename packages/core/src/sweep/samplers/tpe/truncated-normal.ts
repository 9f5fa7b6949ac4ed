// The normal distribution's tail functions and the truncated normal that TPE's Parzen kernels
// are made of, in log space where tails would underflow. The formulas follow Optuna's
// `_truncnorm.py` (itself after SciPy): log Phi by an asymptotic series far in the left tail, the
// mass of an interval computed on the side where it is accurate, the quantile function by Newton's
// method on log Phi. erf/erfc are computed here (JavaScript has none): a series with positive
// terms below 3 and a continued fraction above, both accurate to a few units in the last place.

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI)
const SQRT3_OVER_PI = Math.sqrt(3) / Math.PI

/** erf(x) for 0 <= x < 3: 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (1*3*...*(2n+1)); every term positive. */
function erfSeries(x: number): number {
  const twoX2 = 2 * x * x
  let term = x
  let sum = x
  for (let n = 1; n < 300; n++) {
    term *= twoX2 / (2 * n + 1)
    sum += term
    if (term <= 1e-17 * sum) break
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum
}

/** erfc(x) for x >= 3: e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), modified Lentz. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300
  let f = x
  let c = x
  let d = 0
  for (let n = 1; n < 1000; n++) {
    const a = n / 2
    d = x + a * d
    d = 1 / (d === 0 ? tiny : d)
    c = x + a / c
    if (c === 0) c = tiny
    const delta = c * d
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f)
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x < 0) return -erf(-x)
  return x < 3 ? erfSeries(x) : 1 - erfcContinuedFraction(x)
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x < 0) return 2 - erfc(-x)
  return x < 3 ? 1 - erfSeries(x) : erfcContinuedFraction(x)
}

/** Phi(a), the standard normal CDF, with erfc in the tails so that small values keep their digits. */
export function ndtr(a: number): number {
  const x = a / Math.SQRT2
  if (x < -Math.SQRT1_2) return 0.5 * erfc(-x)
  if (x < Math.SQRT1_2) return 0.5 + 0.5 * erf(x)
  return 1 - 0.5 * erfc(x)
}

/** log Phi(a), finite down to a = -1e150 or so (asymptotic series below -20). */
export function logNdtr(a: number): number {
  // Above 0, log(1 - upper tail) keeps the digits that log of a number near 1 would lose (Optuna
  // uses log Phi(a) ~ -Phi(-a) above 6 and log(Phi(a)) below; log1p is exact for both).
  if (a > 0) return Math.log1p(-ndtr(-a))
  if (a > -20) return Math.log(ndtr(a))
  const logLhs = -0.5 * a * a - Math.log(-a) - LOG_SQRT_2PI
  const denomCons = 1 / (a * a)
  let last = 0
  let rhs = 1
  let numerator = 1
  let denomFactor = 1
  let sign = 1
  for (let i = 1; Math.abs(last - rhs) > Number.EPSILON && i < 100; i++) {
    last = rhs
    sign = -sign
    denomFactor *= denomCons
    numerator *= 2 * i - 1
    rhs += sign * numerator * denomFactor
  }
  return logLhs + Math.log(rhs)
}

export function logAddExp(p: number, q: number): number {
  if (p === -Infinity) return q
  if (q === -Infinity) return p
  const m = Math.max(p, q)
  return m + Math.log1p(Math.exp(-Math.abs(p - q)))
}

/** log(e^p - e^q) for p >= q. */
function logDiff(p: number, q: number): number {
  return p + Math.log1p(-Math.exp(q - p))
}

/** log of the standard normal mass in [a, b], worked on the tail where it is accurate. */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a))
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b))
  // Straddling 0: 1 - (both tails), no cancellation when the mass is close to 1.
  return Math.log1p(-ndtr(a) - ndtr(-b))
}

/** x with log Phi(x) = y (y <= 0), by Newton's method from Optuna's starting points. */
export function ndtriExp(y: number): number {
  // Close to 0, solve for -x on the far tail instead: log Phi(-x) = log(1 - e^y).
  const flipped = y > -1e-2
  const z = flipped ? Math.log(-Math.expm1(y)) : y
  if (z === -Infinity) return flipped ? Infinity : -Infinity
  let x = z < -5 ? -Math.sqrt(-2 * (z + LOG_SQRT_2PI)) : -SQRT3_OVER_PI * Math.log(Math.expm1(-z))
  for (let i = 0; i < 100; i++) {
    const logPhi = logNdtr(x)
    const logPdf = -0.5 * x * x - LOG_SQRT_2PI
    const dx = (logPhi - z) * Math.exp(logPhi - logPdf)
    x -= dx
    if (!(Math.abs(dx) >= 1e-8 * Math.abs(x))) break
  }
  return flipped ? -x : x
}

/**
 * The q-quantile of the standard normal truncated to [a, b] (a < b): the c with
 * Phi(c) = Phi(a) + q (Phi(b) - Phi(a)), worked on the left tail for accuracy.
 */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (!(a < b)) return NaN
  if (q <= 0) return a
  if (q >= 1) return b
  const logMass = logGaussMass(a, b)
  const x = a < 0 ? ndtriExp(logAddExp(logNdtr(a), Math.log(q) + logMass)) : -ndtriExp(logAddExp(logNdtr(-b), Math.log1p(-q) + logMass))
  return Math.min(b, Math.max(a, x))
}

/** log density at x of N(mu, sigma^2) truncated to [low, high]. */
export function truncnormLogPdf(x: number, mu: number, sigma: number, low: number, high: number): number {
  if (x < low || x > high) return -Infinity
  const z = (x - mu) / sigma
  return -0.5 * z * z - LOG_SQRT_2PI - logGaussMass((low - mu) / sigma, (high - mu) / sigma) - Math.log(sigma)
}

export { LOG_SQRT_2PI }
