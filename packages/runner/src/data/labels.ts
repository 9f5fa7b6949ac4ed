// Turns the label column's raw values into class ids 0..K-1.
// - With label names (given in the spec, or ClassLabel names from Parquet metadata): a value equal
//   to a name maps to its index; an integer (or integer string, as TSV gives) in range is taken as
//   the id itself; anything else is an error naming the label set.
// - Without names: integers (or integer strings) are ids; if any value is a non-integer string,
//   the names are the sorted distinct values (as `datasets`' class_encode_column does).
import { datasetError } from './errors.ts'

export interface LabelPlace {
  file: string
  where: number
  unit: 'line' | 'row'
}

const INT = /^\s*-?\d+\s*$/

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value'
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`
  if (typeof v === 'number') return `the number ${v}`
  return `${Array.isArray(v) ? 'an array' : typeof v} ${JSON.stringify(v)}`
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 20).map((n, i) => `${i}=${JSON.stringify(n)}`).join(', ')
  return names.length > 20 ? `${shown}, ... (${names.length} labels)` : shown
}

/** Integer id written as a number or an integer string, else undefined. */
function asInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'string' && INT.test(v)) return Number(v)
  return undefined
}

export function resolveLabels(
  values: readonly unknown[],
  places: (i: number) => LabelPlace,
  column: string,
  names: readonly string[] | undefined,
): { ids: Int32Array; names?: string[] } {
  const ids = new Int32Array(values.length)
  let inferred = false
  const fail = (i: number, what: string) => {
    const p = places(i)
    return datasetError(p.file, p.where, what, p.unit)
  }
  if (names === undefined) {
    const strings = new Set<string>()
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (typeof v === 'string' && !INT.test(v)) {
        if (v.trim() === '') throw fail(i, `the label column ${JSON.stringify(column)} is empty`)
        strings.add(v)
      } else if (asInt(v) === undefined) {
        throw fail(i, `the label column ${JSON.stringify(column)} holds ${describe(v)}; labels must be integer class ids or label names (set labels: [...] to name them)`)
      }
    }
    if (strings.size > 0) {
      names = [...strings].sort()
      inferred = true
    }
  }
  if (names === undefined) {
    for (let i = 0; i < values.length; i++) {
      const id = asInt(values[i])!
      if (id < 0) throw fail(i, `label ${id} in column ${JSON.stringify(column)} is negative; class ids start at 0`)
      ids[i] = id
    }
    return { ids }
  }
  const index = new Map<string, number>()
  names.forEach((n, i) => {
    if (!index.has(n)) index.set(n, i)
  })
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    const byName = typeof v === 'string' ? index.get(v) : undefined
    if (inferred && byName === undefined) {
      throw fail(i, `the label column ${JSON.stringify(column)} mixes names (${JSON.stringify(names[0])}, ...) and ${describe(v)}; use one kind, or set labels: [...] so integers are read as ids`)
    }
    const id = byName ?? asInt(v)
    if (id === undefined || id < 0 || id >= names.length) {
      throw fail(i, `label ${describe(v)} in column ${JSON.stringify(column)} is not in the label set [${listNames(names)}]`)
    }
    ids[i] = id
  }
  return { ids, names: [...names] }
}
