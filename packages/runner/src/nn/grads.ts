// Loss and gradients with respect to named trainable parameters. Only the parameters passed in get
// gradients; frozen weights are plain tensors and cost no gradient work.
//
// The backward pass is tfjs' own (its tape, its gradient functions) with one difference: tfjs
// keeps every intermediate gradient and every tensor saved for backward until the whole pass
// ends, so backward memory is the sum over all ops. Here each op's output gradients and saved
// tensors are released as soon as that op's gradient has been computed (the tape is in
// topological order, so nothing later needs them), which roughly halves a training step's peak
// memory. The wasm heap never shrinks, so the peak is what the process keeps.
import * as tf from '@tensorflow/tfjs-core'
import { getFilteredNodesXToY } from '@tensorflow/tfjs-core/dist/tape.js'
import './register-gradients.ts'
import { ParamError, type Param } from './params.ts'

export interface ValueAndGrads {
  /** The scalar loss (caller disposes). */
  readonly value: tf.Scalar
  /** Parameter name -> gradient, same shape as the parameter (caller disposes). */
  readonly grads: Map<string, tf.Tensor>
}

interface TapeNode {
  kernelName: string
  inputs: Record<string, tf.Tensor>
  outputs: tf.Tensor[]
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>
  saved?: tf.Tensor[]
}

/** The parts of tfjs' Engine that engine.gradients uses (not in its public typings). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number }
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T
  startTape(): void
  endTape(): void
  tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T
}

function gradients(f: () => tf.Scalar, xs: tf.Variable[]): { value: tf.Scalar; grads: Array<tf.Tensor | undefined> } {
  const e = tf.engine() as unknown as EngineInternals
  const y = e.scopedRun(() => e.startTape(), () => e.endTape(), () => e.tidy('forward', f))
  if (!(y instanceof tf.Tensor) || y.rank !== 0) throw new Error('valueAndGrads: the loss function must return a scalar tensor')
  const tape = getFilteredNodesXToY(e.state.activeTape as never, xs, y) as unknown as TapeNode[]
  const release = e.state.gradientDepth === 0
  return e.tidy('backward', () => {
    const acc = new Map<number, tf.Tensor>()
    const refs = new Map<tf.Tensor, number>()
    const hold = (t: tf.Tensor) => refs.set(t, (refs.get(t) ?? 0) + 1)
    const drop = (t: tf.Tensor, keep: ReadonlySet<tf.Tensor>) => {
      const n = (refs.get(t) ?? 0) - 1
      if (n > 0) refs.set(t, n)
      else {
        refs.delete(t)
        if (!keep.has(t)) t.dispose()
      }
    }
    const seed = tf.onesLike(y)
    acc.set(y.id, seed)
    hold(seed)
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i]!
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`)
      const dys = node.outputs.map((o) => acc.get(o.id) ?? null)
      const pending = new Set(dys.filter((d): d is tf.Tensor => d !== null))
      const inputGradients = node.gradient(dys)
      for (const name in node.inputs) {
        if (!(name in inputGradients)) {
          throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`)
        }
        const dx = e.tidy(() => inputGradients[name]!())
        const x = node.inputs[name]!
        if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}: the gradient of input ${name} must be float32, got ${dx.dtype}`)
        if (!tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(`Error in gradient for op ${node.kernelName}: the gradient of input '${name}' has shape [${dx.shape}], input has [${x.shape}]`)
        }
        const cur = acc.get(x.id)
        if (cur === undefined) {
          acc.set(x.id, dx)
          hold(dx)
        } else {
          const sum = tf.add(cur, dx)
          acc.set(x.id, sum)
          hold(sum)
          drop(cur, pending)
          if (!refs.has(dx) && !pending.has(dx)) dx.dispose()
        }
      }
      if (!release) continue
      for (const o of node.outputs) {
        const d = acc.get(o.id)
        if (d === undefined) continue
        acc.delete(o.id)
        drop(d, new Set())
      }
      for (const t of node.saved ?? []) t.dispose()
    }
    const grads = xs.map((x) => acc.get(x.id))
    if (release) {
      for (const node of e.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose()
      e.state.activeTape = null
    }
    return { value: y, grads }
  })
}

/**
 * Runs `loss` (a function building the scalar loss from the model's forward pass) and returns its
 * value and the gradient for every parameter in `params` (all must be trainable), e.g.
 * `valueAndGrads(() => crossEntropy(model.forward(ids, mask, undefined, { training: true }), labels), model.trainableParams())`.
 */
export function valueAndGrads(loss: () => tf.Scalar, params: readonly Param[]): ValueAndGrads {
  const vars = params.map((p) => {
    const v = p.variable
    if (!v) throw new ParamError({ param: p.name, reason: 'is frozen; make it trainable before asking for its gradient' })
    return v
  })
  if (vars.length === 0) throw new Error('valueAndGrads: no parameters to differentiate with respect to')
  const { value, grads } = gradients(loss, vars)
  if (!grads.some((g) => g !== undefined)) {
    value.dispose()
    throw new Error('Cannot find a connection between any parameter and the loss: build the loss from the model inside the function passed to valueAndGrads')
  }
  const out = new Map<string, tf.Tensor>()
  params.forEach((p, i) => {
    // A parameter the loss does not depend on gets a zero gradient, as torch leaves .grad None.
    out.set(p.name, grads[i] ?? tf.zerosLike(p.value))
  })
  return { value, grads: out }
}
