// The `output` section: where the run folder goes.
import type { Written } from '../../schema/json-schema.ts'

export const outputSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dir: { type: 'string', description: 'Run folder; default `runs/<name>/<timestamp>`. Relative to the current folder.' },
  },
} as const

export type OutputSection = Written<typeof outputSchema>
