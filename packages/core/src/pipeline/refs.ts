// `${stages.<id>.outputs.<name>}` references inside stage parameters: found at load time (to
// check them and to add the implied dependency) and substituted at run time.
import { isPlainObject } from '../source/document.ts'
import { escapeKey } from '../source/merge.ts'

const STAGE_REF = /\$\{\s*stages\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][\w-]*)\s*\}/g
const WHOLE = /^\$\{\s*stages\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][\w-]*)\s*\}$/

export interface StageRef {
  readonly stage: string
  readonly output: string
  /** Pointer of the string holding the reference, relative to the params. */
  readonly pointer: string
}

export function findStageRefs(value: unknown, ptr = ''): StageRef[] {
  if (typeof value === 'string') return [...value.matchAll(STAGE_REF)].map((m) => ({ stage: m[1]!, output: m[2]!, pointer: ptr }))
  if (Array.isArray(value)) return value.flatMap((v, i) => findStageRefs(v, `${ptr}/${i}`))
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => findStageRefs(v, `${ptr}/${escapeKey(k)}`))
  return []
}

export function substituteStageRefs(value: unknown, outputs: Readonly<Record<string, Readonly<Record<string, unknown>>>>): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value)
    if (whole) return outputs[whole[1]!]?.[whole[2]!] ?? null
    return value.replace(STAGE_REF, (_, s: string, o: string) => String(outputs[s]?.[o] ?? ''))
  }
  if (Array.isArray(value)) return value.map((v) => substituteStageRefs(v, outputs))
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteStageRefs(v, outputs)]))
  return value
}
