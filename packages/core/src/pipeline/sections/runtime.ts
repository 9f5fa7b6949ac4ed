// The `runtime` section: where the tensors are computed. Not defaulted when a pipeline is loaded:
// the backend's log says whether a choice came from the pipeline, LORAPIPE_BACKEND or `auto`.
import type { Written } from '../../schema/json-schema.ts'

export const runtimeSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    backend: {
      enum: ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'],
      default: 'auto',
      description: 'TensorFlow.js backend; `auto` takes the first available of tfjs-node-gpu, tfjs-node, wasm, cpu. LORAPIPE_BACKEND overrides.',
    },
    threads: { type: 'integer', minimum: 1, description: 'Threads for the wasm backend.' },
    blas: {
      type: 'string',
      minLength: 1,
      default: 'auto',
      description:
        'Native matrix products for the wasm backend: `auto` uses the system BLAS when found (OpenBLAS, MKL, Accelerate), `off` keeps the wasm kernels, or the path of a library with cblas_sgemm. LORAPIPE_BLAS overrides.',
    },
  },
} as const

export type RuntimeSection = Written<typeof runtimeSchema>
