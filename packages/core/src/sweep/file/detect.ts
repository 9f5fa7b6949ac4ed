// Whether a file is a sweep file rather than a pipeline, for commands that take either
// (`lorapipe validate`): a YAML map with one of the sweep's own top-level keys, none of which a
// pipeline has. An unreadable or unparsable file counts as a pipeline, whose loader explains it.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { isPlainObject } from '../../source/document.ts'

const SWEEP_KEYS = ['base', 'method', 'metric', 'parameters']

export function isSweepFile(file: string): boolean {
  let doc: unknown
  try {
    doc = parse(readFileSync(file, 'utf8'))
  } catch {
    return false
  }
  return isPlainObject(doc) && SWEEP_KEYS.some((k) => k in doc)
}
