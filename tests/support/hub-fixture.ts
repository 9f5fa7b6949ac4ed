// A local Hugging Face hub that serves what the seed pipeline asks for: the model
// `distilbert-base-uncased` (the tiny DistilBERT fixture from ../shared in its place, since real
// weights cannot be downloaded here) and the dataset `nyu-mll/glue` (alias `glue`), config sst2,
// as Parquet files written from the real SST-2 TSVs, with the `datasets` ClassLabel metadata.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startHubServer, type HubServer } from '../../packages/runner/test/hub/hub-server.ts'
import { writeParquet } from '../../packages/runner/test/fixtures/data/parquet-writer.ts'
import { shared } from './shared.ts'

function tsvRows(file: string): [string, number][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => {
      const i = l.lastIndexOf('\t')
      return [l.slice(0, i), Number(l.slice(i + 1))]
    })
}

const features = { info: { features: { sentence: { dtype: 'string', _type: 'Value' }, label: { names: ['negative', 'positive'], _type: 'ClassLabel' }, idx: { dtype: 'int32', _type: 'Value' } } } }

export function sst2Parquet(rows: [string, number][]): Buffer {
  return Buffer.from(
    writeParquet(
      [
        { name: 'sentence', type: 'string', values: rows.map(([s]) => s), optional: true },
        { name: 'label', type: 'int64', values: rows.map(([, l]) => l), optional: true },
        { name: 'idx', type: 'int32', values: rows.map((_, i) => i), optional: true },
      ],
      { snappy: true, keyValue: { huggingface: JSON.stringify(features) } },
    ),
  )
}

/** Starts the hub; needs ../shared (callers skip with `needsShared`). */
export async function startSeedHub(): Promise<HubServer> {
  const modelDir = shared('fixtures', 'tiny-distilbert')
  const modelFiles: Record<string, Buffer | { content: Buffer; lfs: boolean }> = {}
  for (const f of readdirSync(modelDir)) {
    const content = readFileSync(join(modelDir, f))
    modelFiles[f] = f.endsWith('.safetensors') ? { content, lfs: true } : content
  }
  const train = tsvRows(shared('data', 'sst2', 'train.tsv'))
  const dev = tsvRows(shared('data', 'sst2', 'dev.tsv'))
  return startHubServer([
    { type: 'model', id: 'distilbert-base-uncased', revisions: { main: modelFiles } },
    {
      type: 'dataset',
      id: 'nyu-mll/glue',
      aliases: ['glue'],
      revisions: {
        main: {
          'README.md': Buffer.from('# GLUE (test copy)\n'),
          'sst2/train-00000-of-00001.parquet': { content: sst2Parquet(train), lfs: true },
          'sst2/validation-00000-of-00001.parquet': { content: sst2Parquet(dev), lfs: true },
        },
      },
    },
  ])
}
