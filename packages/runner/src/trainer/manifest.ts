// manifest.json of a run folder: what produced it (lorapipe and TensorFlow.js versions, backend,
// seed), from what (model source, revision, commit and the sha256 of its weights; dataset files and
// their sha256) and the parameter counts, so a result can be traced and reproduced.
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { FILE_KINDS, openUserFile } from '@lorapipe/core/fs/user-file.ts'
import * as tf from '@tensorflow/tfjs-core'

export interface FileHash {
  readonly path: string
  readonly sha256: string
  readonly bytes: number
}

/** Throws UserFileError for anything but a regular file (a data file swapped for a FIFO would never end). */
export async function sha256File(path: string): Promise<FileHash> {
  const hash = createHash('sha256')
  let bytes = 0
  const { fd } = openUserFile(path, FILE_KINDS.hashed)
  await new Promise<void>((resolve, reject) => {
    createReadStream('', { fd })
      .on('data', (c) => {
        hash.update(c)
        bytes += (c as Buffer).length
      })
      .on('error', reject)
      .on('end', () => resolve())
  })
  return { path, sha256: hash.digest('hex'), bytes }
}

/** The weight files of a model folder (model.safetensors or its shards). */
export function weightFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => /^model(-\d+-of-\d+)?\.safetensors$/.test(f))
    .sort()
    .map((f) => join(dir, f))
}

export function lorapipeVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

export interface Manifest {
  readonly lorapipe: string
  readonly node: string
  readonly tfjs: string
  readonly backend: { readonly name: string; readonly threads: number; readonly reason: string }
  readonly seed: number
  readonly created: string
  readonly resumed?: readonly { readonly time: string; readonly fromStep: number }[]
  readonly model: {
    readonly source: string
    readonly revision?: string | undefined
    readonly commit?: string | undefined
    readonly init: string
    readonly architecture: string
    readonly weights: readonly FileHash[]
  }
  readonly adapter_init?: string | undefined
  readonly dataset: { readonly splits: readonly { readonly split: string; readonly source: string; readonly examples: number; readonly files: readonly FileHash[] }[] }
  readonly parameters: { readonly method: string; readonly trainable: number; readonly total: number; readonly line: string }
  readonly steps: { readonly total: number; readonly per_epoch: number; readonly warmup: number }
}

export const tfjsVersion = (): string => tf.version_core
