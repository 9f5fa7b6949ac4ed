// The repos the test hub serves, built in memory: a small model (a regular file, an LFS file,
// a nested file, a tag), a gated model, GLUE-like datasets in the three parquet layouts, and
// repos whose server misbehaves (unsafe ETag/commit, corrupt LFS body).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HubRepoSpec } from './hub-server.ts'

/** Deterministic bytes (xorshift), so sizes and hashes are stable across runs. */
export function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    b[i] = x & 0xff
  }
  return b
}

export const CONFIG = Buffer.from('{"model_type": "distilbert", "dim": 32}\n')
export const CONFIG_V1 = Buffer.from('{"model_type": "distilbert", "dim": 16}\n')
export const WEIGHTS = bytes(300_000, 7)
export const NOTES = Buffer.from('nested file\n')
export const SST2_TRAIN = bytes(50_000, 11)
export const SST2_VALIDATION = bytes(4_000, 12)
export const SST2_TEST = bytes(4_500, 13)

export function hubRepos(): HubRepoSpec[] {
  return [
    {
      type: 'model',
      id: 'org/tiny-model',
      revisions: {
        main: {
          'config.json': CONFIG,
          'model.safetensors': { content: WEIGHTS, lfs: true },
          'nested/dir/notes.txt': NOTES,
        },
        'v1.0': { 'config.json': CONFIG_V1 },
      },
    },
    { type: 'model', id: 'solo-model', revisions: { main: { 'config.json': CONFIG } } },
    { type: 'model', id: 'org/gated', gated: true, revisions: { main: { 'config.json': CONFIG, 'model.safetensors': { content: WEIGHTS, lfs: true } } } },
    {
      type: 'dataset',
      id: 'nyu-mll/glue',
      aliases: ['glue'],
      revisions: {
        main: {
          'README.md': Buffer.from('# GLUE\n'),
          'sst2/train-00000-of-00001.parquet': { content: SST2_TRAIN, lfs: true },
          'sst2/validation-00000-of-00001.parquet': { content: SST2_VALIDATION, lfs: true },
          'sst2/test-00000-of-00001.parquet': { content: SST2_TEST, lfs: true },
          'cola/train-00000-of-00001.parquet': { content: bytes(1000, 14), lfs: true },
        },
        'refs/convert/parquet': { 'sst2/train/0000.parquet': { content: SST2_TRAIN, lfs: true } },
      },
    },
    {
      type: 'dataset',
      id: 'org/single',
      revisions: {
        main: {
          'data/train-00000-of-00002.parquet': { content: bytes(900, 21), lfs: true },
          'data/train-00001-of-00002.parquet': { content: bytes(800, 22), lfs: true },
          'data/test-00000-of-00001.parquet': { content: bytes(700, 23), lfs: true },
        },
      },
    },
    {
      type: 'dataset',
      id: 'org/csv-only',
      revisions: {
        main: { 'README.md': Buffer.from('csv\n'), 'train.csv': Buffer.from('a,b\n') },
        'refs/convert/parquet': { 'default/train/0000.parquet': { content: bytes(600, 31), lfs: true } },
      },
    },
    {
      type: 'model',
      id: 'org/evil',
      revisions: {
        main: {
          'etag.bin': { content: Buffer.from('x'), etag: '"../../../../escaped"' },
          'commit.bin': { content: Buffer.from('y'), commit: '../../../escaped' },
          'lfs.bin': { content: bytes(5000, 41), lfs: true, etag: '"/tmp/escaped"' },
        },
      },
    },
    {
      type: 'model',
      id: 'org/corrupt',
      revisions: { main: { 'weights.bin': { content: bytes(20_000, 51), lfs: true, servedBody: bytes(20_000, 52) } } },
    },
  ]
}

/** A fresh empty folder under the OS temp dir, removed by the returned cleanup. */
export function tempDir(prefix = 'lorapipe-hub-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Environment with no HF_* variables from the developer's shell, pointing at a temp HF_HOME. */
export function cleanEnv(hfHome: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { HOME: hfHome, HF_HOME: hfHome }
  return { ...env, ...extra }
}
