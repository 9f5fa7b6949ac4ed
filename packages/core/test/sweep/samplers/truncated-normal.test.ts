import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { erf, erfc, logNdtr, truncnormLogPdf, truncnormPpf } from '../../../src/sweep/samplers/tpe/truncated-normal.ts'

// Reference values from Python 3 (math.erf, math.erfc) and SciPy 1.x (scipy.special.log_ndtr,
// scipy.stats.truncnorm.ppf / .logpdf).
function close(actual: number, expected: number, rtol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rtol * Math.abs(expected), `${what}: ${actual} vs ${expected}`)
}

describe('normal tails and the truncated normal (TPE kernels)', () => {
  it('erfc keeps its relative precision far into the tail', () => {
    const ref: [number, number][] = [
      [-2.5, 1.999593047982555], [-0.5, 1.5204998778130465], [0.1, 0.8875370839817152], [1, 0.15729920705028513],
      [2, 0.004677734981047265], [2.999, 2.2230168599834058e-5], [3, 2.2090496998585438e-5], [4.5, 1.9661604415428873e-10],
      [8, 1.1224297172982928e-29], [15, 7.212994172451206e-100],
    ]
    for (const [x, e] of ref) close(erfc(x), e, 1e-11, `erfc(${x})`)
    const refErf: [number, number][] = [[0.05, 0.05637197779701663], [0.5, 0.5204998778130465], [1.5, 0.9661051464753108], [2.9, 0.9999589021219005], [3.5, 0.9999992569016276]]
    for (const [x, e] of refErf) close(erf(x), e, 1e-14, `erf(${x})`)
    close(erf(-1.5), -0.9661051464753108, 1e-14, 'erf is odd')
  })

  it('log Phi is right across the asymptotic switch at -20 and near 0', () => {
    const ref: [number, number][] = [
      [-40, -804.6084420137539], [-20.5, -214.06672896326387], [-19.5, -194.01696577749752], [-6, -20.73676894997471],
      [-1, -1.8410216450092634], [0, -0.6931471805599453], [2, -0.023012909328963476], [5, -2.8665161296376294e-7],
    ]
    for (const [a, e] of ref) close(logNdtr(a), e, 1e-12, `logNdtr(${a})`)
  })

  it('the quantile function matches SciPy, including intervals deep in one tail', () => {
    const ref: [number, number, number, number][] = [
      [0.3, -1, 1, -0.3492199324568824], [0.9, 0.5, 2, 1.6321032119448051], [0.5, -3, -2.9, -2.9463280701472567],
      [0.1, 5, 6, 5.020202578936887], [0.999, -2, 3, 2.8302203200218514], [0.25, -8, -7, -7.19149870636584],
    ]
    for (const [q, a, b, e] of ref) close(truncnormPpf(q, a, b), e, 1e-9, `ppf(${q}; ${a}, ${b})`)
    assert.equal(truncnormPpf(0, -1, 2), -1)
    assert.equal(truncnormPpf(1, -1, 2), 2)
  })

  it('the log density is normalised on its interval and -Infinity outside it', () => {
    close(truncnormLogPdf(0.3, 0, 1, -1, 2), -0.7637722388802101, 1e-12, 'logpdf')
    close(truncnormLogPdf(5, 4, 0.5, 0, 10), -2.225791352644727, 1e-12, 'logpdf')
    close(truncnormLogPdf(-7, 1, 2, -10, -5), -3.0043454247502126, 1e-12, 'logpdf')
    assert.equal(truncnormLogPdf(11, 4, 0.5, 0, 10), -Infinity)
  })
})
