// The schema of a pipeline file, as published in `schemas/pipeline.schema.json` for editors:
// assembled from the sections and the built-in stages' parameters.
import type { JSONSchema } from '../schema/json-schema.ts'
import { schemaAt } from '../schema/lookup.ts'
import { partial } from '../schema/partial.ts'
import { isPlainObject } from '../source/document.ts'
import { builtinSpec, builtinSpecs } from '../stage/builtins.ts'
import { jobProperties, outputSchema, runtimeSchema, seedSchema } from './sections/index.ts'

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
      seed: seedSchema,
      extends: {
        type: ['string', 'array'],
        items: { type: 'string' },
        description: 'File(s) this pipeline is deep-merged over, relative to this file.',
      },
      vars: { type: 'object', description: 'Values for `${vars.NAME}` interpolation.' },
      runtime: runtimeSchema,
      ...partial(jobProperties),
      output: outputSchema,
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

let schemaMemo: JSONSchema | undefined
/** The pipeline file's schema, made once. */
export const fileSchema = () => (schemaMemo ??= pipelineSchema())

/**
 * The schema of the value at a key path of a pipeline document (`stages.<id>.with` takes the
 * parameters of the stage `uses` names), for typing `--set` values and finding paths.
 */
export function pipelineSchemaAt(doc: unknown, segments: string[]): JSONSchema | undefined {
  const stages = isPlainObject(doc) && isPlainObject(doc.stages) ? doc.stages : {}
  return schemaAt(fileSchema(), segments, (id) => {
    const st = stages[id]
    const spec = isPlainObject(st) && typeof st.uses === 'string' ? builtinSpec(st.uses) : undefined
    return spec ? partial(spec.params) : undefined
  })
}
