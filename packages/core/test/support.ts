// Helpers for core tests: write pipeline files into a temp folder and load them.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as Effect from 'effect/Effect'
import { loadPipeline, type Diagnostic, type LoadOptions, type ValidatedPipeline } from '../src/index.ts'

export function tempDir(prefix = 'lorapipe-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Writes files (path -> text) under a new temp folder and returns the folder. */
export function writeFiles(files: Record<string, string>): string {
  const dir = tempDir()
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

export async function loadOk(file: string, opts?: LoadOptions): Promise<ValidatedPipeline> {
  const r = await Effect.runPromise(Effect.either(loadPipeline(file, opts)))
  if (r._tag === 'Left') throw new Error(`expected a valid pipeline, got:\n${r.left.message}`)
  return r.right
}

export async function loadErrors(file: string, opts?: LoadOptions): Promise<Diagnostic[]> {
  const r = await Effect.runPromise(Effect.either(loadPipeline(file, opts)))
  if (r._tag === 'Right') throw new Error('expected the pipeline to be invalid, but it validated')
  return [...r.left.diagnostics]
}

/** One-line summaries `line:column message` for compact assertions. */
export function at(ds: readonly Diagnostic[]): string[] {
  return ds.map((d) => `${d.location?.line}:${d.location?.column} ${d.message}${d.hint ? ` | ${d.hint}` : ''}`)
}

export const minimalJob = `name: tiny
model:
  path: ./model
  num_labels: 2
lora:
  target_modules: [q_lin, v_lin]
dataset:
  text_column: sentence
  train: { path: train.tsv }
  eval: { path: dev.tsv }
trainer:
  epochs: 1
`
