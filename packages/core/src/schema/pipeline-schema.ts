// The schema of a pipeline file, as published in `schemas/pipeline.schema.json` for editors.
import { builtinSpecs } from '../stage/builtins.ts'
import { jobProperties, type JSONSchema } from './job.ts'
import { partial } from './partial.ts'

export const SCHEMA_ID = 'https://lorapipe.dev/schemas/pipeline.schema.json'

export const stageIdPattern = '^[A-Za-z_][A-Za-z0-9_-]*$'

export function pipelineSchema(): JSONSchema {
  const withByUses = builtinSpecs.map((s) => ({
    if: { properties: { uses: { const: s.name } }, required: ['uses'] },
    then: { properties: { with: partial(s.params) } },
  }))
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'lorapipe pipeline',
    description: 'A LoRA fine-tuning pipeline. A single job (model, lora, dataset, tokenizer, trainer) or a graph of `stages`.',
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Name of the pipeline; names the run folder.' },
      description: { type: 'string' },
      seed: { type: 'integer', minimum: 0, default: 42, description: 'Seed for data order, initialisation and dropout.' },
      extends: {
        type: ['string', 'array'],
        items: { type: 'string' },
        description: 'File(s) this pipeline is deep-merged over, relative to this file.',
      },
      vars: { type: 'object', description: 'Values for `${vars.NAME}` interpolation.' },
      runtime: {
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
      },
      ...partial(jobProperties),
      output: {
        type: 'object',
        additionalProperties: false,
        properties: {
          dir: { type: 'string', description: 'Run folder; default `runs/<name>/<timestamp>`. Relative to the current folder.' },
        },
      },
      stages: {
        type: 'object',
        minProperties: 1,
        description: 'The stage graph. Top-level job sections are defaults for every stage that takes them.',
        propertyNames: { pattern: stageIdPattern },
        additionalProperties: { $ref: '#/$defs/stage' },
      },
    },
    $defs: {
      stage: {
        type: 'object',
        additionalProperties: false,
        required: ['uses'],
        properties: {
          uses: {
            type: 'string',
            description: 'A built-in stage or a module path (`./stages/my-stage.ts`) relative to the pipeline file.',
            examples: builtinSpecs.map((s) => s.name),
          },
          description: { type: 'string' },
          needs: {
            type: ['string', 'array'],
            items: { type: 'string', pattern: stageIdPattern },
            pattern: stageIdPattern,
            description: 'Stages that must finish first.',
          },
          with: { type: 'object', description: 'Parameters of the stage.' },
        },
        allOf: withByUses,
      },
    },
  }
}
