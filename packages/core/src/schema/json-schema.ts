// JSON Schema (draft 2020-12) as lorapipe writes it: the type of a schema, the two types a schema
// literal (`as const`) gives its values (as written, and decoded: with every `default` filled in,
// json-schema-to-ts's FromSchema), and lorapipe's own keywords.
import type { FromSchema, JSONSchema as SchemaLiteral } from 'json-schema-to-ts'

export type JSONSchema = { [k: string]: unknown }

/** A value of schema `S` as a file may write it: keys with a `default` may be left out. */
export type Written<S extends SchemaLiteral> = FromSchema<S, { keepDefaultedPropertiesOptional: true }>

/** A value of schema `S` once its defaults are filled in (`withDefaults`, or loading a pipeline). */
export type Decoded<S extends SchemaLiteral> = FromSchema<S>

export type { SchemaLiteral }

/**
 * Marks a file or folder path. In a pipeline file it is relative to that file; given with `--set`
 * it is relative to the current folder, as a user typing it on the command line expects.
 */
export const PATH = 'x-lorapipe-path'

/** Words for a `pattern`, used in the diagnostic instead of the regular expression. */
export const PATTERN_WORDS = 'x-lorapipe-pattern'
