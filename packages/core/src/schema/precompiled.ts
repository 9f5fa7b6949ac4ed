// Validators compiled ahead of time. Compiling the pipeline schema with ajv is most of what
// `lorapipe validate` would spend at start-up, and these schemas are the same on every run; so in
// the bundle, scripts/build.mjs replaces `precompiled` below with ajv's standalone code for the
// pipeline file's schema and the built-in stages' parameters (with the options below). From the
// sources it is empty and every schema is compiled when first used. A schema is found by its
// content, so one that changed since the build is simply compiled.
import { createHash } from 'node:crypto'
import type { Options, ValidateFunction } from 'ajv/dist/2020.js'
import type { JSONSchema } from './json-schema.ts'

/** ajv's options for every validation, here and in the precompiled code. */
export const ajvOptions = (useDefaults: boolean): Options => ({ allErrors: true, verbose: true, strict: false, useDefaults })

export const precompiled: ReadonlyMap<string, ValidateFunction> = new Map()

export function schemaKey(schema: JSONSchema, useDefaults: boolean): string {
  return createHash('sha1').update(JSON.stringify(schema)).update(useDefaults ? '+defaults' : '').digest('hex')
}

export function precompiledValidator(schema: JSONSchema, useDefaults: boolean): ValidateFunction | undefined {
  return precompiled.size === 0 ? undefined : precompiled.get(schemaKey(schema, useDefaults))
}
