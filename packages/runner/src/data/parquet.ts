// Parquet reader on hyparquet (pure JS; reads uncompressed and snappy files, which is what the
// Hugging Face hub serves for glue/sst2; gzip/zstd/brotli files would need `hyparquet-compressors`).
// Files written by `datasets` carry the features in the `huggingface` key-value metadata; ClassLabel
// names found there become the dataset's label names.
import { FILE_KINDS, readUserFile, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet'
import { datasetError } from './errors.ts'
import type { RawTable } from './table.ts'

/** ClassLabel names per column from the `huggingface` metadata JSON, if any. */
export function classNamesFromHfMetadata(json: string): Record<string, string[]> | undefined {
  let meta: any
  try {
    meta = JSON.parse(json)
  } catch {
    return undefined
  }
  const features = meta?.info?.features
  if (!features || typeof features !== 'object') return undefined
  const out: Record<string, string[]> = {}
  for (const [name, f] of Object.entries<any>(features)) {
    if (f?._type === 'ClassLabel' && Array.isArray(f.names) && f.names.every((x: unknown) => typeof x === 'string')) out[name] = f.names
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function plain(v: unknown): unknown {
  // hyparquet returns INT64 as bigint; labels and ids fit in a double.
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  return v
}

export async function readParquet(file: string, wanted?: readonly string[]): Promise<RawTable> {
  let buf: ArrayBuffer
  try {
    const b = readUserFile(file, FILE_KINDS.parquet)
    buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
  } catch (e) {
    throw datasetError(file, undefined, e instanceof UserFileError ? e.reason : `cannot read: ${(e as Error).message}`)
  }
  let metadata
  try {
    metadata = parquetMetadata(buf)
  } catch (e) {
    throw datasetError(file, undefined, `not a readable Parquet file: ${(e as Error).message}`)
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name)
  const hf = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value
  const classNames = hf ? classNamesFromHfMetadata(hf) : undefined
  // Read only the columns the spec needs (all of them when a requested one is missing, so the
  // caller can report the missing column with the full list).
  const read = wanted && wanted.every((w) => columns.includes(w)) ? [...wanted] : undefined
  let objects: Record<string, unknown>[]
  try {
    objects = await parquetReadObjects({ file: buf, ...(read ? { columns: read } : {}) })
  } catch (e) {
    throw datasetError(file, undefined, `cannot decode the Parquet data: ${(e as Error).message}`)
  }
  const rows = new Array<Record<string, unknown>>(objects.length)
  const where = new Array<number>(objects.length)
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i]!
    for (const k in o) o[k] = plain(o[k])
    rows[i] = o
    where[i] = i + 1
  }
  return { file, columns, rows, where, unit: 'row', ...(classNames ? { classNames } : {}) }
}
