// The pipeline reference in Markdown, generated from the schema so the README cannot drift from
// what the validator accepts.
import { builtinSpecs } from '../stage/builtins.ts'
import type { JSONSchema } from './job.ts'
import { pipelineSchema } from './pipeline-schema.ts'

function typeOf(s: JSONSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((e) => `\`${e}\``).join(' \\| ')
  const t = s.type
  const ts = Array.isArray(t) ? t : t ? [t] : []
  const names = ts.map((x) => (x === 'array' && s.items && (s.items as JSONSchema).type ? `list of ${(s.items as JSONSchema).type}` : String(x)))
  if (typeof s.additionalProperties === 'object' && ts.includes('object')) return `map of ${(s.additionalProperties as JSONSchema).type ?? 'values'}`
  return names.join(' \\| ') || 'any'
}

function constraints(s: JSONSchema): string {
  const c: string[] = []
  if (s.minimum !== undefined) c.push(`>= ${s.minimum}`)
  if (s.exclusiveMinimum !== undefined) c.push(`> ${s.exclusiveMinimum}`)
  if (s.maximum !== undefined) c.push(`<= ${s.maximum}`)
  if (s.exclusiveMaximum !== undefined) c.push(`< ${s.exclusiveMaximum}`)
  return c.join(', ')
}

export function rows(props: Record<string, JSONSchema>, prefix: string, required: readonly string[], out: string[]) {
  for (const [k, s] of Object.entries(props)) {
    const name = `${prefix}${k}`
    const dflt = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : required.includes(k) ? 'required' : ''
    const desc = [s.description, constraints(s)].filter(Boolean).join(' ').replace(/\|/g, '\\|').replace(/\n/g, ' ')
    out.push(`| \`${name}\` | ${typeOf(s)} | ${dflt} | ${desc} |`)
    const nested = s.properties as Record<string, JSONSchema> | undefined
    if (nested) rows(nested, `${name}.`, (s.required as string[]) ?? [], out)
  }
}

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
