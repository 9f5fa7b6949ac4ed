// W&B sweep keys and distributions that lorapipe does not take, with what to write instead. A
// spelling guess would mislead here (`log_uniform` is not a typo of `int_uniform`), so these
// hints replace the schema's did-you-mean.
import type { Diagnostic } from '../../diagnostics.ts'
import { pointerSegments } from '../../diagnostics.ts'

const TOP_LEVEL: Record<string, string> = {
  program: 'lorapipe runs a pipeline, not a script: name it with `base: ./pipeline.yaml`',
  command: 'lorapipe runs a pipeline, not a command: name it with `base: ./pipeline.yaml`',
  project: 'not needed: results go to the sweep folder (`lorapipe sweep --out DIR`)',
  entity: 'not needed: results go to the sweep folder (`lorapipe sweep --out DIR`)',
}

const METHODS: Record<string, string> = {
  bayes: 'W&B\'s `bayes` is Bayesian optimisation with a Gaussian process: write `method: gp` (or `method: tpe`, faster per trial)',
}

const EARLY_TERMINATE: Record<string, string> = {
  s: 'W&B\'s `s` (number of hyperband brackets) is not supported: lorapipe runs one bracket of asynchronous successive halving',
  strict: 'W&B\'s `strict` is not supported: a trial is stopped when it is outside the top 1/reduction_factor at a rung',
}

const DISTRIBUTIONS: Record<string, string> = {
  log_uniform: 'W&B\'s `log_uniform` takes min and max as exponents of e; use `log_uniform_values` with the values themselves (`min: 1.0e-5, max: 1.0e-3`)',
  q_log_uniform: 'W&B\'s `q_log_uniform` takes exponents; use `q_log_uniform_values` with the values themselves',
  inv_log_uniform: 'not supported; use `log_uniform_values` with the values themselves',
  inv_log_uniform_values: 'not supported; use `log_uniform_values`',
  normal: 'normal distributions are not supported; use `uniform` (or `log_uniform_values`) with `min` and `max`',
  q_normal: 'normal distributions are not supported; use `q_uniform` with `min`, `max` and `q`',
  log_normal: 'normal distributions are not supported; use `log_uniform_values` with `min` and `max`',
  q_log_normal: 'normal distributions are not supported; use `q_log_uniform_values` with `min`, `max` and `q`',
}

/** The diagnostic with a better hint when it is about a W&B name lorapipe does not take. */
export function withWandbHint(d: Diagnostic, doc: Record<string, unknown>): Diagnostic {
  const segs = pointerSegments(d.pointer ?? '')
  let hint: string | undefined
  if (segs.length === 1 && d.message.startsWith('unknown key')) hint = TOP_LEVEL[segs[0]!]
  else if (segs.length === 1 && segs[0] === 'method' && typeof doc.method === 'string') hint = METHODS[doc.method]
  else if (segs.length === 2 && segs[0] === 'early_terminate' && d.message.startsWith('unknown key')) hint = EARLY_TERMINATE[segs[1]!]
  else if (segs.length === 3 && segs[0] === 'parameters' && segs[2] === 'distribution') {
    const p = (doc.parameters as Record<string, Record<string, unknown>> | undefined)?.[segs[1]!]
    hint = typeof p?.distribution === 'string' ? DISTRIBUTIONS[p.distribution] : undefined
  }
  return hint ? { ...d, hint } : d
}
