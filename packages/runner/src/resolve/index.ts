export { resolveModel, ModelSourceError, MODEL_FILES, type ResolvedModel } from './model.ts'
export { resolveDataset, type ResolvedDataset, type SplitSourceInfo } from './dataset.ts'
export { hubOptionsFor } from './hub-options.ts'
