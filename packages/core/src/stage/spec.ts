// What a stage is: a name, a JSON Schema for its `with:` parameters, the outputs it promises, and
// a `run` that returns an Effect. Built-in stages and user modules share this one shape.
import type * as Effect from 'effect/Effect'
import type * as Scope from 'effect/Scope'
import type { JSONSchema } from '../schema/json-schema.ts'
import type { StageContext } from './context.ts'

/** Values a stage hands to the stages after it (`${stages.<id>.outputs.<name>}`). */
export type StageOutputs = Record<string, string | number | boolean | null>

/** A stage body. It may acquire scoped resources (Effect.acquireRelease); the executor closes the scope when the stage ends, fails or is interrupted. */
export type StageRun<P> = (params: P, ctx: StageContext) => Effect.Effect<StageOutputs | void, unknown, Scope.Scope> | Promise<StageOutputs | void>

/**
 * What a stage occupies while it runs. `compute`: the CPU or accelerator (training, evaluation,
 * export); by default at most one such stage runs at a time, so stages do not slow each other
 * down and the speeds they report are honest. Light stages (none declared) run alongside.
 */
export type StageResource = 'compute'

/** The declarative part of a stage, known without running anything. */
export interface StageSpec {
  readonly name: string
  readonly description: string
  /** JSON Schema of the stage's `with:` parameters, after top-level defaults are merged in. */
  readonly params: JSONSchema
  /** Names of the outputs the stage returns. */
  readonly outputs: readonly string[]
  /** Top-level job sections (`model`, `trainer`, ...) that act as defaults for `with:`. */
  readonly defaults?: readonly string[]
  /** The resource the stage needs while it runs; absent for light stages. */
  readonly resource?: StageResource
  /** Checks the schema cannot express (after defaults); pointers are relative to the parameters. */
  readonly check?: (params: Readonly<Record<string, unknown>>) => readonly ParamProblem[]
}

export interface ParamProblem {
  readonly pointer: string
  readonly message: string
  readonly hint?: string
}

export interface StageDefinition<P = any> extends StageSpec {
  readonly run: StageRun<P>
}
