// Merging LoRA into the base weights (W <- W + scaling * B A) and back, and exporting the merged
// model as a plain transformers folder (PEFT's merge_and_unload + save_pretrained).
import * as tf from '@tensorflow/tfjs-core'
import { saveModel } from '../models/load.ts'
import type { LoraModel } from './inject.ts'

/** Folds every LoRA layer into its base weight; the forward pass then skips the LoRA term. */
export function mergeLora(lora: LoraModel): void {
  for (const l of lora.layers.values()) {
    if (l.merged) continue
    const w = lora.model.parameter(`${l.path}.weight`)
    w.assign(tf.tidy(() => tf.add(w.value, l.delta())))
    l.merged = true
  }
}

/** Undoes mergeLora (W <- W - scaling * B A), exact up to float32 rounding. */
export function unmergeLora(lora: LoraModel): void {
  for (const l of lora.layers.values()) {
    if (!l.merged) continue
    const w = lora.model.parameter(`${l.path}.weight`)
    w.assign(tf.tidy(() => tf.sub(w.value, l.delta())))
    l.merged = false
  }
}

/** Merged base weights by parameter name, computed without changing the model. */
export function mergedWeights(lora: LoraModel): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>()
  for (const l of lora.layers.values()) {
    const w = lora.model.parameter(`${l.path}.weight`)
    if (l.merged) {
      out.set(w.name, w.read())
      continue
    }
    const merged = tf.tidy(() => tf.add(w.value, l.delta()))
    out.set(w.name, (merged.dataSync() as Float32Array).slice())
    merged.dispose()
  }
  return out
}

/** Writes the merged model (base + LoRA, trained heads) as config.json + model.safetensors for transformers. */
export async function saveMergedModel(lora: LoraModel, dir: string): Promise<void> {
  await saveModel(lora.model, dir, { overrides: mergedWeights(lora) })
}
