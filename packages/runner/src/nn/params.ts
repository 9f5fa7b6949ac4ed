// Named parameters. A frozen parameter is a plain tensor (no gradient bookkeeping, a stable object
// the linear op may cache derived forms of); a trainable one is a tf.Variable. Flipping the flag
// converts between the two without copying data.
import * as tf from '@tensorflow/tfjs-core'
import { Data } from 'effect'
import { releaseTransposed } from '../ops/transpose.ts'

export class ParamError extends Data.TaggedError('ParamError')<{ readonly param: string; readonly reason: string }> {
  override get message(): string {
    return `parameter "${this.param}": ${this.reason}`
  }
}

export class Param {
  private tensor: tf.Tensor

  constructor(
    /** Full name as in the Hugging Face state dict, e.g. `classifier.weight`. */
    readonly name: string,
    value: tf.Tensor,
    trainable = false,
  ) {
    this.tensor = trainable ? tf.variable(value, true) : tf.keep(value)
    if (trainable) value.dispose()
  }

  get shape(): number[] {
    return this.tensor.shape
  }

  get size(): number {
    return this.tensor.size
  }

  /** The tensor to compute with (the variable itself when trainable, so gradients reach it). */
  get value(): tf.Tensor {
    return this.tensor
  }

  get trainable(): boolean {
    return this.tensor instanceof tf.Variable
  }

  /** The tf.Variable when trainable, else null. */
  get variable(): tf.Variable | null {
    return this.tensor instanceof tf.Variable ? this.tensor : null
  }

  setTrainable(on: boolean): void {
    if (on === this.trainable) return
    const old = this.tensor
    this.tensor = on ? tf.variable(old, true) : tf.keep(tf.clone(old))
    releaseTransposed(old)
    old.dispose()
  }

  /** Replaces the values (same shape), keeping trainability. Takes ownership of `value` when it is a tensor. */
  assign(value: tf.Tensor | Float32Array): void {
    const ok = value instanceof Float32Array ? value.length === this.size : tf.util.arraysEqual(value.shape, this.shape)
    if (!ok) {
      const got = value instanceof Float32Array ? `${value.length} values` : `shape [${value.shape}]`
      throw new ParamError({ param: this.name, reason: `cannot assign ${got} to a parameter of shape [${this.shape}]` })
    }
    const t = value instanceof Float32Array ? tf.tensor(value, this.shape, 'float32') : value
    const v = this.variable
    if (v) {
      v.assign(t)
      t.dispose()
    } else {
      releaseTransposed(this.tensor)
      this.tensor.dispose()
      this.tensor = tf.keep(t)
    }
  }

  /** A float32 copy of the values (a copy: some backends hand out their own storage). */
  read(): Float32Array {
    return (this.tensor.dataSync() as Float32Array).slice()
  }

  dispose(): void {
    releaseTransposed(this.tensor)
    this.tensor.dispose()
  }
}

/** Ordered name -> Param map. */
export class ParamStore {
  private readonly byName = new Map<string, Param>()

  add(p: Param): Param {
    if (this.byName.has(p.name)) throw new ParamError({ param: p.name, reason: 'registered twice' })
    this.byName.set(p.name, p)
    return p
  }

  get(name: string): Param {
    const p = this.byName.get(name)
    if (!p) throw new ParamError({ param: name, reason: 'no such parameter' })
    return p
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  remove(name: string): void {
    const p = this.byName.get(name)
    if (p) {
      p.dispose()
      this.byName.delete(name)
    }
  }

  all(): Param[] {
    return [...this.byName.values()]
  }

  trainable(): Param[] {
    return this.all().filter((p) => p.trainable)
  }

  names(): string[] {
    return [...this.byName.keys()]
  }

  dispose(): void {
    for (const p of this.byName.values()) p.dispose()
    this.byName.clear()
  }
}
