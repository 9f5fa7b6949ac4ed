// The pipeline reference in Markdown, generated from the schema so the README cannot drift from
// what the validator accepts.
import type { JSONSchema } from '../schema/json-schema.ts'
import { rows } from '../schema/reference.ts'
import { builtinSpecs } from '../stage/builtins.ts'
import { pipelineSchema } from './schema.ts'

export function pipelineReference(): string {
  const schema = pipelineSchema()
  const out: string[] = []
  out.push('### Pipeline file', '', '| key | type | default | description |', '|---|---|---|---|')
  const top = { ...(schema.properties as Record<string, JSONSchema>) }
  const stages = top.stages!
  delete top.stages
  rows(top, '', ['name'], out)
  out.push('', '### Stages', '', `\`stages.<id>\` (${String(stages.description)}):`, '', '| key | type | default | description |', '|---|---|---|---|')
  const stageDef = ((schema.$defs as Record<string, JSONSchema>).stage!.properties ?? {}) as Record<string, JSONSchema>
  rows(stageDef, '', ['uses'], out)
  out.push('', 'Built-in stages (`uses:`), with the parameters of `with:` and the outputs a later stage can reference as `${stages.<id>.outputs.<name>}`:', '')
  for (const s of builtinSpecs) {
    const props = (s.params.properties ?? {}) as Record<string, JSONSchema>
    out.push(`- \`${s.name}\`: ${s.description} Parameters: ${Object.keys(props).map((k) => `\`${k}\``).join(', ')}${s.defaults?.length ? ` (defaults from the top-level ${s.defaults.map((d) => `\`${d}\``).join(', ')})` : ''}. Outputs: ${s.outputs.map((o) => `\`${o}\``).join(', ')}.`)
  }
  return out.join('\n') + '\n'
}
