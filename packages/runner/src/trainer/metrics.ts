// Classification metrics: accuracy and F1 as scikit-learn computes them (binary: F1 of the
// positive class, label 1; more classes: macro F1, the unweighted mean over the classes), and the
// "which evaluation is best" rule of transformers' Trainer.

/** Accuracy and F1 of predicted class ids against the true ones. */
export function classificationMetrics(predictions: ArrayLike<number>, labels: ArrayLike<number>, numLabels: number): { accuracy: number; f1: number } {
  const n = labels.length
  if (predictions.length !== n) throw new Error(`metrics: ${predictions.length} predictions for ${n} labels`)
  if (n === 0) return { accuracy: 0, f1: 0 }
  const k = Math.max(numLabels, 2)
  const tp = new Float64Array(k)
  const fp = new Float64Array(k)
  const fn = new Float64Array(k)
  let correct = 0
  for (let i = 0; i < n; i++) {
    const p = predictions[i]!
    const y = labels[i]!
    if (p === y) {
      correct++
      tp[y]! += 1
    } else {
      fp[p]! += 1
      fn[y]! += 1
    }
  }
  // sklearn's f1 with zero_division=0: a class with no true or predicted examples scores 0.
  const f1Of = (c: number) => (tp[c]! === 0 ? 0 : (2 * tp[c]!) / (2 * tp[c]! + fp[c]! + fn[c]!))
  let f1: number
  if (k === 2) f1 = f1Of(1)
  else {
    let s = 0
    for (let c = 0; c < k; c++) s += f1Of(c)
    f1 = s / k
  }
  return { accuracy: correct / n, f1 }
}

/** counts[t][p]: how many examples of true class t were predicted as p (scikit-learn's confusion_matrix). */
export function confusionMatrix(predictions: ArrayLike<number>, labels: ArrayLike<number>, numLabels: number): number[][] {
  const counts = Array.from({ length: numLabels }, () => new Array<number>(numLabels).fill(0))
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]![predictions[i]!]! += 1
  return counts
}

export type BestMetric = 'loss' | 'accuracy' | 'f1'

/** `eval_accuracy` -> `accuracy`; loss is lower-is-better, the others higher-is-better. */
export function bestMetricName(setting: string): BestMetric {
  const m = setting.startsWith('eval_') ? setting.slice(5) : setting
  if (m !== 'loss' && m !== 'accuracy' && m !== 'f1') throw new Error(`metric_for_best_model must be loss, accuracy or f1 (optionally eval_-prefixed), got ${setting}`)
  return m
}

export function greaterIsBetter(metric: BestMetric): boolean {
  return metric !== 'loss'
}

/** Strictly better, as transformers' `operator(metric, best)` (np.greater / np.less). */
export function isBetter(metric: BestMetric, value: number, best: number | undefined): boolean {
  if (best === undefined) return true
  return greaterIsBetter(metric) ? value > best : value < best
}

/** EarlyStoppingCallback: an evaluation counts as an improvement when better by more than `threshold`. */
export function isImprovement(metric: BestMetric, value: number, best: number | undefined, threshold: number): boolean {
  return best === undefined || (isBetter(metric, value, best) && Math.abs(value - best) > threshold)
}
