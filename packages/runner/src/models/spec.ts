// Parameter and linear-module layout of an architecture, computed from the config alone: names and
// shapes exactly as the transformers state dict. Models are built from it, and parameter counts or
// LoRA plans can be computed from it without allocating any weights.

export type ParamInit =
  | { readonly kind: 'normal'; readonly paddingIdx?: number }
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }

/**
 * encoder: the base model's own weights (an encoder's, or a decoder's including its lm_head), must
 * come from the checkpoint; pooler/head: freshly initialised (with a warning) when a checkpoint
 * lacks them, as transformers does for a masked-LM checkpoint.
 */
export type ParamRole = 'encoder' | 'pooler' | 'head'

export interface ParamSpec {
  readonly name: string
  readonly shape: readonly number[]
  readonly init: ParamInit
  readonly role: ParamRole
}

export interface LinearSpec {
  /** Module path, e.g. `distilbert.transformer.layer.0.attention.q_lin`. */
  readonly path: string
  readonly inFeatures: number
  readonly outFeatures: number
  readonly bias: boolean
  /**
   * The parameter holding its weight when that is not `<path>.weight`: a tied output layer
   * (`lm_head` of a model with tie_word_embeddings uses `model.embed_tokens.weight`).
   */
  readonly tiedWeight?: string
}

export interface ModelSpec {
  /** Base-model prefix of the state dict (`distilbert` or `bert`). */
  readonly prefix: string
  readonly params: readonly ParamSpec[]
  readonly linears: readonly LinearSpec[]
  /** Name of the output layer (excluded from all-linear LoRA, always trained for SEQ_CLS). */
  readonly outputModule: string
  /**
   * State-dict names that are another parameter under a second name (tied weights), absent from the
   * params as transformers leaves them out of model.safetensors: name -> the parameter it is.
   */
  readonly tied?: ReadonlyMap<string, string>
}

/** Helper for spec builders: a torch.nn.Linear at `path` (with a bias unless `bias` is false). */
export function linearParams(path: string, inF: number, outF: number, role: ParamRole, out: ParamSpec[], lins: LinearSpec[], bias = true): void {
  out.push({ name: `${path}.weight`, shape: [outF, inF], init: { kind: 'normal' }, role })
  if (bias) out.push({ name: `${path}.bias`, shape: [outF], init: { kind: 'zeros' }, role })
  lins.push({ path, inFeatures: inF, outFeatures: outF, bias })
}

/** Parameter counts of the same modules, for closed-form model sizes. */
export const linearSize = (inF: number, outF: number, bias = true): number => inF * outF + (bias ? outF : 0)
export const layerNormSize = (dim: number): number => 2 * dim

/** An RMSNorm (weight only, initialised to ones: the trainer exempts it from weight decay as a norm). */
export function rmsNormParams(path: string, dim: number, role: ParamRole, out: ParamSpec[]): void {
  out.push({ name: `${path}.weight`, shape: [dim], init: { kind: 'ones' }, role })
}

export function layerNormParams(path: string, dim: number, role: ParamRole, out: ParamSpec[]): void {
  out.push({ name: `${path}.weight`, shape: [dim], init: { kind: 'ones' }, role })
  out.push({ name: `${path}.bias`, shape: [dim], init: { kind: 'zeros' }, role })
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}
