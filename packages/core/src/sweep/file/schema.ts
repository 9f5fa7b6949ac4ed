// The schema of a sweep file, as published in `schemas/sweep.schema.json` for editors and rendered
// into the README's sweep reference: the single source of truth for the sweep file's keys. Key
// names and meanings follow Weights & Biases sweep configurations (`method`, `metric`, `parameters`,
// `run_cap`, `early_terminate`), so a W&B user reads a lorapipe sweep without a manual. Rules the
// schema cannot say (bounds, which keys go together) are checked in ./parameters.ts and ./load.ts.
import type { JSONSchema } from '../../schema/json-schema.ts'
import { PATH } from '../../schema/json-schema.ts'
import { DEFAULT_SEED } from '../../pipeline/sections/seed.ts'
import { SEARCH_METHODS } from '../model.ts'

export const SWEEP_SCHEMA_ID = 'https://lorapipe.dev/schemas/sweep.schema.json'


/** Distributions of a parameter, with W&B's names and meaning. */
export const DISTRIBUTIONS = ['constant', 'categorical', 'uniform', 'int_uniform', 'q_uniform', 'log_uniform_values', 'q_log_uniform_values'] as const
export type Distribution = (typeof DISTRIBUTIONS)[number]

/** The keys of a parameter entry; exactly one of `value`, `values`, `distribution`, `min`/`max` or `together` says its kind. */
export const PARAMETER_KEYS = ['value', 'values', 'distribution', 'min', 'max', 'q', 'together'] as const

/** `early_terminate.type`; `hyperband` is W&B's name for the same asynchronous successive halving. */
export const EARLY_TERMINATE_TYPES = ['asha', 'hyperband', 'median'] as const

/** Metrics of an evaluation that a sweep can optimise, as `metrics.json` (`eval.<key>`) and the EvalMetrics events hold them. */
export const EVAL_METRICS = ['loss', 'accuracy', 'f1'] as const
export type EvalMetricKey = (typeof EVAL_METRICS)[number]
export const METRIC_NAMES = EVAL_METRICS.map((k) => `eval_${k}`)

export const DEFAULT_MAX_CONSECUTIVE_FAILURES = 5
export const DEFAULT_REDUCTION_FACTOR = 3
export const DEFAULT_MEDIAN_STARTUP_TRIALS = 5

/**
 * Most trials one sweep may run: the bound on `run_cap` and on a grid's combinations (a grid
 * larger than this runs only with a `run_cap`). A sweep of more trials than this is a mistake in
 * the file (a range where a list was meant, one list too many), not a plan.
 */
export const MAX_TRIALS = 1_000_000

/** Grids up to this many combinations have every combination's pipeline validated before the sweep starts. */
export const GRID_CHECK_LIMIT = 256

const number = { type: 'number' }
const anyValue = { description: 'Any YAML value: a number, string, boolean, null, list or map.' }

export function sweepSchema(): JSONSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SWEEP_SCHEMA_ID,
    title: 'lorapipe sweep',
    description: 'A hyperparameter sweep over a lorapipe pipeline (W&B sweep key names and meaning).',
    type: 'object',
    additionalProperties: false,
    required: ['base', 'method', 'metric', 'parameters'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Name of the sweep; names the sweep folder. Default: the file name without `.yaml`.' },
      description: { type: 'string' },
      base: { type: 'string', [PATH]: true, description: 'The pipeline every trial starts from (single-job or multi-stage), relative to the sweep file.' },
      method: {
        enum: [...SEARCH_METHODS],
        description:
          '`grid`: every combination once, in file order; `random`: seeded, no configuration twice where the space allows; `tpe`: Tree-structured Parzen Estimator (as Optuna\'s default sampler), a few ms per trial; `gp`: Bayesian optimisation with a Gaussian process (as Optuna\'s GPSampler; W&B\'s `bayes`), the most sample-efficient, about 0.1 s per trial at 100 trials. Both start with 10 random trials.',
      },
      metric: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        description: 'The objective: an evaluation metric of the trials.',
        properties: {
          name: {
            type: 'string',
            examples: [...METRIC_NAMES, 'lora.eval_accuracy'],
            description: '`eval_accuracy`, `eval_f1` or `eval_loss` (the `eval` record of `metrics.json`, reported at every evaluation). For a multi-stage base, `<stage>.eval_accuracy` names the stage; it may be left out when one stage evaluates.',
          },
          goal: { enum: ['minimize', 'maximize'], description: 'Default: `minimize` for `eval_loss`, `maximize` for accuracy and F1.' },
          target: { ...number, description: 'Stop the sweep once a finished trial reaches this value.' },
        },
      },
      parameters: {
        type: 'object',
        minProperties: 1,
        description: 'What the trials vary, keyed by pipeline path (`lora.r`, `trainer.learning_rate`, `stages.lora.with.lora.r`), or by a free label for a `together` bundle. In file order.',
        additionalProperties: { $ref: '#/$defs/parameter' },
      },
      run_cap: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_TRIALS,
        description: `Most trials to run; required for \`random\`, \`tpe\` and \`gp\`. A grid runs every combination, or its first \`run_cap\`. A sweep runs at most ${MAX_TRIALS.toLocaleString('en-US')} trials: a larger grid needs a \`run_cap\`.`,
      },
      seed: { type: 'integer', minimum: 0, default: DEFAULT_SEED, description: 'Seed of the search (random, TPE and GP draws). Trials keep their pipeline\'s own `seed` unless it is a parameter.' },
      early_terminate: { $ref: '#/$defs/early_terminate' },
      max_consecutive_failures: {
        type: 'integer',
        minimum: 1,
        default: DEFAULT_MAX_CONSECUTIVE_FAILURES,
        description: 'Stop the sweep (and say why) after this many trials in a row failed, so one bad configuration cannot fail hundreds of runs.',
      },
      concurrency: { type: 'integer', minimum: 1, default: 1, description: 'Trials run at the same time (each in its own worker process); `--concurrency` overrides.' },
    },
    $defs: {
      parameter: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        description: 'One entry: `value`, `values`, `distribution` with `min`/`max`/`q`, `min`/`max` alone (`int_uniform` when both are whole numbers, else `uniform`), or `together`.',
        properties: {
          value: { ...anyValue, description: 'Fixed in every trial.' },
          values: { type: 'array', minItems: 1, description: 'The choices (numbers, strings, lists or maps; a repeated choice counts once). Without `distribution`: categorical.' },
          distribution: {
            enum: [...DISTRIBUTIONS],
            description:
              '`uniform`, `int_uniform`, `q_uniform` (min + k q), `log_uniform_values` (uniform in log between the values min and max), `q_log_uniform_values`, `categorical` (with `values`), `constant` (with `value`).',
          },
          min: { ...number, description: 'Lower bound (included).' },
          max: { ...number, description: 'Upper bound (included).' },
          q: { ...number, description: 'Step of `q_uniform` and `q_log_uniform_values`: values are min + k q up to max.' },
          together: {
            type: 'array',
            minItems: 1,
            items: { type: 'object', minProperties: 1, additionalProperties: anyValue },
            description: 'Parameters that change together: a list of bundles, each a map from pipeline path to value (`{lora.r: 8, lora.alpha: 16}`). One bundle per trial; the grid crosses bundles with the other parameters.',
          },
        },
      },
      early_terminate: {
        type: 'object',
        additionalProperties: false,
        required: ['type'],
        description: 'Stop unpromising trials early (recorded as `pruned`, with their last metrics). Steps count evaluations (the trainer\'s `eval_every`), not optimizer steps.',
        properties: {
          type: { enum: [...EARLY_TERMINATE_TYPES], description: '`asha`: asynchronous successive halving (`hyperband` is the same, W&B\'s name); `median`: median stopping.' },
          min_steps: { type: 'integer', minimum: 1, description: 'asha: the first rung, in evaluations; rungs at min_steps x reduction_factor^k. Required for asha (`min_iter` is W&B\'s name for it).' },
          min_iter: { type: 'integer', minimum: 1, description: 'asha: W&B\'s name for `min_steps`.' },
          reduction_factor: { type: 'integer', minimum: 2, default: DEFAULT_REDUCTION_FACTOR, description: 'asha: eta; at each rung a trial goes on only while in the top 1/eta of the trials that reached it (`eta` is W&B\'s name for it).' },
          eta: { type: 'integer', minimum: 2, description: 'asha: W&B\'s name for `reduction_factor`.' },
          max_steps: { type: 'integer', minimum: 1, description: 'asha: no rungs at or beyond this many evaluations (`max_iter` is W&B\'s name for it).' },
          max_iter: { type: 'integer', minimum: 1, description: 'asha: W&B\'s name for `max_steps`.' },
          warmup_steps: { type: 'integer', minimum: 0, default: 0, description: 'median: evaluations a trial makes before it can be stopped.' },
          startup_trials: { type: 'integer', minimum: 0, default: DEFAULT_MEDIAN_STARTUP_TRIALS, description: 'median: trials that must finish before any is stopped.' },
          min_trials: { type: 'integer', minimum: 1, default: 1, description: 'median: trials that must have reported at an evaluation for its median to count.' },
        },
      },
    },
  }
}
