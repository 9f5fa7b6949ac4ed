// The base model a PEFT adapter names in adapter_config.json (`base_model_name_or_path`, and
// `revision`), read the way PEFT's AutoPeftModel does: a folder when one exists at that path,
// else a hub repository id.
import { existsSync } from 'node:fs'
import { FILE_KINDS, readUserText, UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { isAbsolute, join, resolve } from 'node:path'
import { ADAPTER_CONFIG } from './adapter.ts'
import { LoraError } from './error.ts'

export type AdapterBase = { readonly path: string } | { readonly id: string; readonly revision?: string }

/** Whether `dir` is a PEFT adapter folder (has adapter_config.json and no config.json of its own). */
export function isAdapterFolder(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG)) && !existsSync(join(dir, 'config.json'))
}

/** The base model of the adapter in `dir`; a relative folder name is taken from `cwd`, as PEFT would. */
export function adapterBase(dir: string, cwd = process.cwd()): AdapterBase {
  const file = join(dir, ADAPTER_CONFIG)
  let json: Record<string, unknown>
  try {
    json = JSON.parse(readUserText(file, FILE_KINDS.config))
  } catch (e) {
    throw new LoraError({ source: file, reason: e instanceof UserFileError ? e.reason : `cannot read the adapter config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` })
  }
  const name = json.base_model_name_or_path
  if (typeof name !== 'string' || name === '') {
    throw new LoraError({ source: file, reason: 'the adapter does not name its base model (base_model_name_or_path is empty); give it with --model' })
  }
  const local = isAbsolute(name) ? name : resolve(cwd, name)
  if (existsSync(local)) return { path: local }
  if (isAbsolute(name) || name.startsWith('.')) {
    throw new LoraError({ source: file, reason: `its base model folder ${name} does not exist; give the base with --model` })
  }
  return typeof json.revision === 'string' && json.revision !== '' ? { id: name, revision: json.revision } : { id: name }
}
