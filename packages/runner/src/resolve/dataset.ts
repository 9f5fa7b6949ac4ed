// Turns a pipeline's `dataset` section into local files: a split given by `path` is used as it
// is (relative to the pipeline file); a split given by hub `split` name is fetched from the
// dataset repository `dataset.id` / `dataset.config` (Parquet) into the huggingface_hub cache.
// `ratio` splits are carved from train by the data loader.
import { dirname, basename } from 'node:path'
import type { StageContext } from '@lorapipe/core'
import type { DatasetSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { downloadDatasetSplit } from '../hub/index.ts'
import { hubOptionsFor, type HubCtx } from './hub-options.ts'

export interface SplitSourceInfo {
  readonly split: 'train' | 'eval'
  readonly files: readonly string[]
  /** `local` or `hub:<id>/<config>/<split>@<commit>`. */
  readonly source: string
}

export interface ResolvedDataset {
  /** The same section with every split as a local `path` (absolute). */
  readonly dataset: DatasetSection
  readonly sources: readonly SplitSourceInfo[]
}

export async function resolveDataset(d: DatasetSection, ctx: Pick<StageContext, 'resolvePath'> & HubCtx): Promise<ResolvedDataset> {
  const sources: SplitSourceInfo[] = []
  const out: Record<string, unknown> = { ...d }
  for (const name of ['train', 'eval'] as const) {
    const s = d[name]
    if (!s) continue
    if (s.path !== undefined) {
      const path = ctx.resolvePath(s.path)
      out[name] = { ...s, path }
      sources.push({ split: name, files: [path], source: 'local' })
    } else if (s.split !== undefined && d.id !== undefined) {
      const config = d.config ?? 'default'
      const got = await downloadDatasetSplit(d.id, config, s.split, { ...hubOptionsFor(ctx), repoType: 'dataset', ...(d.revision && d.revision !== 'main' ? { revision: d.revision } : {}) })
      const files = got.cached.map((c) => c.path)
      out[name] = { ...s, path: globFor(files), format: s.format ?? 'parquet' }
      sources.push({ split: name, files, source: `hub:${d.id}/${config}/${s.split}@${got.commitHash}` })
    }
  }
  return { dataset: out as DatasetSection, sources }
}

/** One file is its own path; shards in one folder are read through a `*` glob of their names. */
function globFor(files: readonly string[]): string {
  if (files.length === 1) return files[0]!
  const dir = dirname(files[0]!)
  const names = files.map((f) => basename(f))
  let prefix = names[0]!
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1)
  return `${dir}/${prefix}*.parquet`
}
