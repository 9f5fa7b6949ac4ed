// Log expected improvement (Ament et al., "Unexpected Improvements to Expected Improvement for
// Bayesian Optimization", 2023; BoTorch's LogExpectedImprovement, Optuna's GPSampler): for
// y ~ N(mean, sigma^2) and the incumbent f0, log E[max(0, y - f0)] = log sigma + log h(z) with
// z = (mean - f0) / sigma and h(z) = z Phi(z) + phi(z). Far below the incumbent h underflows and
// z Phi + phi cancels, while the maximiser needs its slope there (most of the space, late in a
// search), so h is worked as phi(z) (1 + z R(z)) with R = Phi / phi, by its asymptotic series
// below z = -20.
import { ndtr } from '../tpe/truncated-normal.ts'

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI)
const ASYMPTOTIC_BELOW = -20

/** log h(z), plus d log h / dz = Phi(z) / h(z) and phi(z) / h(z) (for the gradient). */
export function logH(z: number): { value: number; phiRatio: number; cdfRatio: number } {
  const logPhi = -0.5 * z * z - LOG_SQRT_2PI
  if (z >= ASYMPTOTIC_BELOW) {
    const phi = Math.exp(logPhi)
    const cdf = ndtr(z)
    const h = z * cdf + phi
    return { value: Math.log(h), phiRatio: phi / h, cdfRatio: cdf / h }
  }
  // 1 + z R(z) = sum_k (-1)^(k+1) (2k - 1)!! / z^(2k) and R(z) = -(1/z) sum_k (-1)^k (2k - 1)!! / z^(2k):
  // alternating series, truncated where the next term is below 1e-12 of the first at z = -20.
  const w = 1 / (z * z)
  let term = 1
  let r = 1
  let oneZr = 0
  for (let k = 1; k <= 8; k++) {
    term *= -(2 * k - 1) * w
    r += term
    oneZr -= term
  }
  // oneZr = 1 + z R;  R = -r / z.
  const rOverZ = -r / z
  return { value: logPhi + Math.log(oneZr), phiRatio: 1 / oneZr, cdfRatio: rOverZ / oneZr }
}

/** log E[max(0, y - f0)] for y ~ N(mean, variance). */
export function logExpectedImprovement(mean: number, variance: number, f0: number): number {
  const sigma = Math.sqrt(Math.max(variance, 1e-300))
  return Math.log(sigma) + logH((mean - f0) / sigma).value
}

/** log EI with its partial derivatives in the mean and in the variance. */
export function logEiWithGradient(mean: number, variance: number, f0: number): { value: number; dMean: number; dVariance: number } {
  const v = Math.max(variance, 1e-300)
  const sigma = Math.sqrt(v)
  const h = logH((mean - f0) / sigma)
  // d/dmean = (Phi / h) / sigma;  d/dsigma = (phi / h) / sigma;  dsigma/dvariance = 1 / (2 sigma).
  return { value: Math.log(sigma) + h.value, dMean: h.cdfRatio / sigma, dVariance: h.phiRatio / (2 * v) }
}
