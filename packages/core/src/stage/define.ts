// The custom stage API: `export default defineStage({ name, params, run })` in a .ts or .js file
// named by `uses: ./stages/my-stage.ts`. `params` is a JSON Schema or an Effect Schema; either way
// the stage's `with:` is validated like a built-in's before anything runs.
import * as EJSONSchema from 'effect/JSONSchema'
import * as Schema from 'effect/Schema'
import type { JSONSchema } from '../schema/json-schema.ts'
import type { StageContext } from './context.ts'
import type { StageDefinition, StageOutputs, StageResource, StageRun } from './spec.ts'
import type * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'

export interface DefineStageInput<P> {
  readonly name: string
  readonly description?: string
  readonly params: JSONSchema | Schema.Schema<P, any, never>
  readonly outputs?: readonly string[]
  /** `compute` for a stage that trains, evaluates or otherwise keeps the CPU busy: it then waits its turn. */
  readonly resource?: StageResource
  readonly run: (params: P, ctx: StageContext) => Effect.Effect<StageOutputs | void, unknown, Scope.Scope> | Promise<StageOutputs | void>
}

export interface CustomStage<P = any> extends StageDefinition<P> {
  /** Decodes validated JSON params into the stage's type (Effect Schema stages); identity otherwise. */
  readonly decode: (params: unknown) => P
}

export function defineStage<P = Record<string, unknown>>(input: DefineStageInput<P>): CustomStage<P> {
  const isSchema = Schema.isSchema(input.params)
  const params: JSONSchema = isSchema ? (EJSONSchema.make(input.params as Schema.Schema<P, any, never>) as unknown as JSONSchema) : (input.params as JSONSchema)
  const decode = isSchema ? Schema.decodeUnknownSync(input.params as Schema.Schema<P, any, never>) : (u: unknown) => u as P
  return {
    name: input.name,
    description: input.description ?? '',
    params: stripMetaSchema(params),
    outputs: input.outputs ?? [],
    ...(input.resource ? { resource: input.resource } : {}),
    run: input.run as StageRun<P>,
    decode,
  }
}

// ajv 2020 rejects the draft-07 `$schema` that Effect emits; the dialect is ours to choose.
function stripMetaSchema(s: JSONSchema): JSONSchema {
  const { $schema: _ignored, ...rest } = s
  return rest
}

export function isStageDefinition(v: unknown): v is StageDefinition {
  const o = v as Record<string, unknown> | null
  return typeof o === 'object' && o !== null && typeof o.name === 'string' && typeof o.run === 'function' && typeof o.params === 'object'
}
