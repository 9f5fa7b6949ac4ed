export { resolveModel, ModelSourceError, MODEL_FILES, type ModelParams, type ResolvedModel } from './model.ts'
export { resolveDataset, type DatasetParams, type ResolvedDataset, type SplitParams, type SplitSourceInfo } from './dataset.ts'
export { hubOptionsFor } from './hub-options.ts'
