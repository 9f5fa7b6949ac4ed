// Whether a file is a sweep file rather than a pipeline, for commands that take either
// (`lorapipe validate`): a YAML map with one of the sweep's own top-level keys, none of which a
// pipeline has. An unreadable or unparsable file counts as a pipeline, whose loader explains it.
import { isPlainObject, readYamlFile } from '../../source/document.ts'

const SWEEP_KEYS = ['base', 'method', 'metric', 'parameters']

export function isSweepFile(file: string): boolean {
  // The one YAML reader, with its limits: linear in the file, safe against alias bombs.
  const r = readYamlFile(file)
  return r.ok && isPlainObject(r.doc.value) && SWEEP_KEYS.some((k) => k in (r.doc.value as object))
}
