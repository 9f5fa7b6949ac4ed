// Building blocks shared by the models: parameters, gradients, loss, seeded randomness.
export { Param, ParamStore, ParamError } from './params.ts'
export { valueAndGrads } from './grads.ts'
export type { ValueAndGrads } from './grads.ts'
export { crossEntropy } from './loss.ts'
export { Rng } from './rng.ts'
export type { ForwardContext } from './context.ts'
export { LinearModule } from './linear-module.ts'
export type { LinearAdapter } from './linear-module.ts'
