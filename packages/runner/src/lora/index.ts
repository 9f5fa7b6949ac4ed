// Public surface of LoRA (PEFT semantics and file format).
export { loraSettings, loraFromPeft, loraToPeft } from './peft-config.ts'
export type { LoraSettings } from './peft-config.ts'
export { planLora, injectLora, countPlannedParameters, formatParameterCount, LoraModel } from './inject.ts'
export type { LoraPlan, LoraTarget, InjectOptions } from './inject.ts'
export { LoraLayer } from './layer.ts'
export { saveAdapter, loadAdapter, initFromAdapter, readAdapterConfig, assignAdapterTensors, adapterTensors, adapterKeyToParam, ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './adapter.ts'
export { mergeLora, unmergeLora, mergedWeights, saveMergedModel } from './merge.ts'
export { LoraError } from './error.ts'
