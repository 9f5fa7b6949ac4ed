// Search strategies: given the space and every trial so far, the next assignment.
export { canonicalKey, configurationKey } from './configuration.ts'
export { domainProblem, resolveDomain, type ResolvedDomain } from './domain.ts'
export { GridDomainUnsupported, gridAccepts, gridCount, gridPoints, gridSampler, gridSize, gridValues } from './grid.ts'
export { RANDOM_RETRIES, randomSampler } from './random.ts'
export { TPE_DEFAULTS, defaultGamma, tpeSampler, type TpeOptions } from './tpe/tpe.ts'
export { GP_DEFAULTS, gpSampler, type GpOptions } from './gp/gp.ts'
export { samplerFor } from './method.ts'
