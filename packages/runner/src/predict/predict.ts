// Inference: a model folder (optionally with a PEFT adapter) classifies texts in batches, with
// the tokenizer from the model folder, in eval mode (no dropout).
import * as tf from '@tensorflow/tfjs-core'
import { evaluateSpec } from '@lorapipe/core/stage/builtins.ts'
import { join } from 'node:path'
import { loadPretrained, readModelConfig } from '../models/index.ts'
import { familyOf } from '../models/families.ts'
import { ModelError } from '../models/error.ts'
import { loadAdapter } from '../lora/index.ts'
import { loadTokenizer } from '../tokenizer/index.ts'
import { lengthOrder } from '../trainer/evaluate.ts'
import { classificationMetrics, confusionMatrix } from '../trainer/metrics.ts'
import { resolveLabels } from '../data/labels.ts'
import type { PredictInputs } from './inputs.ts'

export interface Prediction {
  readonly text: string
  readonly label: string
  readonly labelId: number
  readonly logits: number[]
  readonly probabilities: number[]
}

/** How the predictions of a labelled file score: as the `evaluate` stage computes accuracy and F1. */
export interface PredictionScore {
  readonly accuracy: number
  /** Binary: F1 of label 1; more labels: macro F1 (scikit-learn's defaults). */
  readonly f1: number
  readonly correct: number
  readonly total: number
  /** The model's label names, in id order: the rows and columns of `confusion`. */
  readonly labels: string[]
  /** confusion[true][predicted] */
  readonly confusion: number[][]
}

export interface PredictOptions {
  readonly adapter?: string
  readonly batchSize?: number
  readonly maxLength?: number
}

export class Predictor {
  private constructor(
    private readonly model: Awaited<ReturnType<typeof loadPretrained>>['model'],
    private readonly tokenizer: ReturnType<typeof loadTokenizer>,
    private readonly batchSize: number,
  ) {}

  static async load(modelDir: string, opts: PredictOptions = {}): Promise<Predictor> {
    const family = familyOf(await readModelConfig(join(modelDir, 'config.json')))
    if (family.task !== 'sequence-classification') {
      throw new ModelError({ source: modelDir, reason: `${family.architecture} is a ${family.task} model; \`lorapipe predict\` classifies texts with a sequence classifier: score texts under a causal language model with \`lorapipe score\`` })
    }
    const { model } = await loadPretrained(modelDir)
    if (opts.adapter) await loadAdapter(model, opts.adapter)
    const tokenizer = loadTokenizer(modelDir, opts.maxLength !== undefined ? { maxLength: opts.maxLength } : {})
    // Without --batch-size, as many texts per forward pass as the `evaluate` stage takes.
    return new Predictor(model, tokenizer, opts.batchSize ?? evaluateSpec.params.properties.batch_size.default)
  }

  /** The model's label names, in id order. */
  labelNames(): string[] {
    return Array.from({ length: this.model.config.numLabels }, (_, i) => this.labelName(i))
  }

  /**
   * The true labels of a labelled file as the model's ids (a label is a name of the model's, or
   * its id), and the predictions scored against them. A label the model does not have is an error
   * at its line.
   */
  score(predictions: readonly Prediction[], file: string, labels: NonNullable<PredictInputs['labels']>): { truth: Int32Array; score: PredictionScore } {
    const names = this.labelNames()
    const truth = resolveLabels(labels.values, (i) => ({ file, where: labels.lines[i]!, unit: 'line' }), labels.column, names).ids
    const predicted = Int32Array.from(predictions, (p) => p.labelId)
    const { accuracy, f1 } = classificationMetrics(predicted, truth, names.length)
    const correct = predicted.reduce((a, p, i) => a + (p === truth[i] ? 1 : 0), 0)
    return { truth, score: { accuracy, f1, correct, total: truth.length, labels: names, confusion: confusionMatrix(predicted, truth, names.length) } }
  }

  labelName(id: number): string {
    return this.model.config.id2label[String(id)] ?? `LABEL_${id}`
  }

  predict(texts: readonly string[]): Prediction[] {
    const out = new Array<Prediction>(texts.length)
    // Batches of texts of similar length (little padding); results go back in the texts' order.
    const encoded = this.tokenizer.encodeAll(texts)
    const order = lengthOrder(encoded)
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const idx = order.subarray(i, i + this.batchSize)
      const b = this.tokenizer.collate(encoded, idx)
      const logits = tf.tidy(() => {
        const ids = tf.tensor2d(b.inputIds, [b.batchSize, b.seqLen], 'int32')
        const mask = tf.tensor2d(b.attentionMask, [b.batchSize, b.seqLen], 'int32')
        const types = this.model.family.tokenTypes ? tf.tensor2d(b.tokenTypeIds, [b.batchSize, b.seqLen], 'int32') : null
        return this.model.forward(ids, mask, types, { training: false })
      })
      const rows = logits.arraySync() as number[][]
      logits.dispose()
      rows.forEach((row, j) => {
        const t = idx[j]!
        // Loaded weights are finite (the reader refuses others), but a forward pass can still
        // overflow; a NaN row has no label, and printing `LABEL_-1` would be a lie.
        if (!row.every(Number.isFinite)) {
          throw new ModelError({ source: 'predict', reason: `the model's logits for text ${t + 1} are not finite numbers (${row.join(', ')}); its weights overflow on this input` })
        }
        const max = Math.max(...row)
        const exps = row.map((v) => Math.exp(v - max))
        const sum = exps.reduce((a, c) => a + c, 0)
        const labelId = row.indexOf(max)
        out[t] = { text: texts[t]!, label: this.labelName(labelId), labelId, logits: row, probabilities: exps.map((e) => e / sum) }
      })
    }
    return out
  }
}
