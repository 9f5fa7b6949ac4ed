// The sweep file reference in Markdown, generated from the sweep schema (as the pipeline
// reference is from its schema) so the README cannot drift from what the loader accepts.
import type { JSONSchema } from '../../schema/json-schema.ts'
import { rows } from '../../schema/reference.ts'
import { GRID_CHECK_LIMIT, sweepSchema } from './schema.ts'

const header = ['| key | type | default | description |', '|---|---|---|---|']

export function sweepReference(): string {
  const schema = sweepSchema()
  const defs = schema.$defs as Record<string, JSONSchema>
  const top = { ...(schema.properties as Record<string, JSONSchema>), early_terminate: defs.early_terminate! }
  const out: string[] = ['### Sweep file keys', '', ...header]
  rows(top, '', schema.required as string[], out)
  out.push('', '### Sweep parameters', '', `Each \`parameters.<path>\`: ${String(defs.parameter!.description)}`, '', ...header)
  rows(defs.parameter!.properties as Record<string, JSONSchema>, '', [], out)
  out.push(
    '',
    'What each kind of entry means for the search (`q` steps are min + k q, as Optuna; a range with `q` takes whole numbers when min, max and q are whole):',
    '',
    '| entry | values | grid |',
    '|---|---|---|',
    '| `value: x` | always x | one value |',
    '| `values: [a, b]` (or `distribution: categorical`) | one of the list; lists and maps are single values | each distinct value |',
    '| `together: [{p: a, q: b}, ...]` | one bundle, setting every path in it | each distinct bundle |',
    '| `distribution: uniform`, `min`, `max` | a real in [min, max] | no |',
    '| `distribution: int_uniform`, `min`, `max` | a whole number in [min, max] | no |',
    '| `distribution: q_uniform`, `min`, `max`, `q` | min + k q, up to max | no |',
    '| `distribution: log_uniform_values`, `min` > 0, `max` | uniform in log between min and max | no |',
    '| `distribution: q_log_uniform_values`, `min`, `max`, `q` | log-uniform, on steps of q | no |',
    '| `min`, `max` alone | `int_uniform` when both are whole, else `uniform` | no |',
    '',
    `Before any trial starts, \`lorapipe sweep\` and \`lorapipe validate\` load the base pipeline with each value of each parameter (every choice and bundle, both ends of a range); for a grid of at most ${GRID_CHECK_LIMIT} combinations, every combination's pipeline too. A value that makes an invalid pipeline is refused (exit 2) at its line in the sweep file, with the pipeline's own error. The base pipeline, and each distinct value that names a file or folder (\`model.path\`, \`dataset.train.path\`, \`tokenizer.path\`, \`lora.init_from\`), also go through the checks \`run\` makes of the files it names before it writes anything: \`model.path: {values: [/etc, ./model]}\` is refused at the \`/etc\`.`,
  )
  return out.join('\n') + '\n'
}
