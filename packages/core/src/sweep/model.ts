// The vocabulary of a hyperparameter sweep, shared by the sweep file loader, the search
// strategies (samplers), the early-stopping rules (pruners), the coordinator that runs trials and
// the front ends that show them. Pure data: no I/O, no TensorFlow.js.

/** What a parameter may take. Names are pipeline paths (`lora.r`) or, for `together`, a label. */
export type ParameterDomain =
  /** `value: x`: fixed in every trial. */
  | { readonly kind: 'constant'; readonly value: unknown }
  /** `values: [...]` or `distribution: categorical`: one of a finite list (lists and objects allowed). */
  | { readonly kind: 'categorical'; readonly choices: readonly unknown[] }
  /** `uniform`, `q_uniform`, `log_uniform_values`: a real in [low, high], on a log scale or quantised by `q`. */
  | { readonly kind: 'float'; readonly low: number; readonly high: number; readonly log: boolean; readonly q?: number }
  /** `int_uniform` (or an integer `q_uniform`): a whole number in [low, high]. */
  | { readonly kind: 'int'; readonly low: number; readonly high: number; readonly log: boolean; readonly q?: number }
  /**
   * `together: [{lora.r: 8, lora.alpha: 16}, ...]`: parameters that change together. Sampled as a
   * categorical over the bundles (the value is the bundle's index); each bundle sets several paths.
   */
  | { readonly kind: 'together'; readonly bundles: readonly Readonly<Record<string, unknown>>[] }

export interface Parameter {
  readonly name: string
  readonly domain: ParameterDomain
}

/** Parameters in sweep-file order; grid and TPE iterate them in this order. */
export type SearchSpace = readonly Parameter[]

/** One point of the space: parameter name -> value (for `together`, the bundle index). */
export type Assignment = Readonly<Record<string, unknown>>

export type Goal = 'minimize' | 'maximize'

/**
 * A sweep file's `method`: `grid` (every combination once, categorical/constant/together
 * parameters only), `random` (seeded, no repeated configuration where the space allows), `tpe`
 * (Optuna's Tree-structured Parzen Estimator) or `gp` (Bayesian optimisation with a Gaussian
 * process, as Optuna's GPSampler; W&B's `bayes`). `seed` drives random, TPE and GP; grid ignores it.
 */
export type SearchMethod = 'grid' | 'random' | 'tpe' | 'gp'
export const SEARCH_METHODS: readonly SearchMethod[] = ['grid', 'random', 'tpe', 'gp']

/**
 * A sweep file's `early_terminate`, as the pruners take it. Steps count a trial's evaluations
 * (1 = its first evaluation), not optimizer steps, so rules mean the same for any `eval_every`.
 */
export type EarlyTerminate =
  /**
   * Asynchronous successive halving (Ray's ASHAScheduler, Optuna's SuccessiveHalvingPruner): rungs
   * at `minSteps * reductionFactor^k` evaluations (k = 0, 1, ...; below `maxSteps` when given); at a
   * rung a trial goes on only while it is in the top `1 / reductionFactor` of the trials that reached it.
   */
  | { readonly type: 'asha'; readonly minSteps: number; readonly reductionFactor: number; readonly maxSteps?: number }
  /**
   * Median stopping (Optuna's MedianPruner): once `startupTrials` trials have finished, a trial past
   * `warmupSteps` evaluations stops when its best value so far is worse than the median of the other
   * trials' values at the same evaluation, given that at least `minTrials` of them reported there.
   */
  | { readonly type: 'median'; readonly warmupSteps: number; readonly startupTrials: number; readonly minTrials: number }

export type TrialState = 'running' | 'completed' | 'pruned' | 'failed'

/** What the strategies see of a trial. `value` is the objective (the sweep metric) when known. */
export interface TrialView {
  readonly number: number
  readonly assignment: Assignment
  readonly state: TrialState
  /** Final objective: set for completed trials, and for pruned ones (their last reported value). */
  readonly value?: number
  /** Objective after each evaluation: index 1 is the first evaluation. */
  readonly intermediate: ReadonlyMap<number, number>
}

/**
 * A search strategy (as Optuna's samplers): given every trial so far, the next assignment, or
 * `undefined` when the space is exhausted (grid) or has no unused point left. Deterministic for a
 * given seed and history, so a resumed sweep draws the same trials.
 */
export interface Sampler {
  readonly name: string
  next(space: SearchSpace, history: readonly TrialView[], goal: Goal): Assignment | undefined
}

/**
 * An early-stopping rule (as Optuna's pruners): after a trial reports its objective at evaluation
 * `evaluation` (1-based count of its evaluations), whether to stop it now. Pure: the decision
 * depends only on the trials' reported values, so it can be replayed on resume.
 */
export interface Pruner {
  readonly name: string
  shouldPrune(trial: TrialView, evaluation: number, history: readonly TrialView[], goal: Goal): boolean
}
