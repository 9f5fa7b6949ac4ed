// Rows of a Markdown reference table (key, type, default, description) from a schema, so the
// README's references cannot drift from what the validators accept.
import type { JSONSchema } from './json-schema.ts'

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
