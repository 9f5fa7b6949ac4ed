// Where a pipeline's model comes from: a local folder (`model.path`, which wins), a hub
// repository (`model.id` at `model.revision`, fetched into the huggingface_hub cache), or only a
// config for `init: random`.
import { existsSync } from 'node:fs'
import { FILE_KINDS, userFileProblem } from '@lorapipe/core/fs/user-file.ts'
import { join } from 'node:path'
import * as Data from 'effect/Data'
import type { StageContext } from '@lorapipe/core'
import type { ModelSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { snapshotDownload } from '../hub/index.ts'
import { hubOptionsFor, type HubCtx } from './hub-options.ts'

export interface ResolvedModel {
  /** The model folder (config.json, weights, tokenizer files); absent for a config-only random init. */
  readonly dir?: string
  readonly init: 'pretrained' | 'random'
  /** The config.json to build from. */
  readonly configPath: string
  /** For the manifest: `local:<dir>` or `hub:<id>@<commit>`. */
  readonly source: string
  readonly commit?: string
}

export class ModelSourceError extends Data.TaggedError('ModelSourceError')<{ readonly message: string }> {}

/** Files a model needs from a hub repository (not TF/Flax/ONNX weights). */
export const MODEL_FILES = [
  'config.json',
  'model.safetensors',
  'model.safetensors.index.json',
  'model-*.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
  'special_tokens_map.json',
  // A decoder's chat template may live in its own file (transformers >= 4.43 saves it so).
  'chat_template.jinja',
]

/** Where the model comes from. `m` is a decoded `model` section (the command line's `predict` makes one with `withDefaults`). */
export async function resolveModel(m: ModelSection, ctx: Pick<StageContext, 'resolvePath'> & HubCtx): Promise<ResolvedModel> {
  const init = m.init
  const explicitConfig = m.config !== undefined ? ctx.resolvePath(m.config) : undefined
  const configProblem = explicitConfig === undefined ? undefined : userFileProblem(explicitConfig, FILE_KINDS.config)
  if (configProblem) throw new ModelSourceError({ message: `model.config ${configProblem.message}` })
  if (m.path !== undefined) {
    const dir = ctx.resolvePath(m.path)
    const configPath = explicitConfig ?? join(dir, 'config.json')
    if (!existsSync(configPath))
      throw new ModelSourceError({ message: `model.path ${dir} is not a Hugging Face model folder: no config.json`, })
    return { dir, init, configPath, source: `local:${dir}` }
  }
  // A random init from an explicit config needs nothing from the hub (the tokenizer then comes from `tokenizer.path`).
  if (init === 'random' && explicitConfig) return { init, configPath: explicitConfig, source: `config:${explicitConfig}` }
  if (m.id === undefined) {
    throw new ModelSourceError({ message: 'the model needs `id` (a hub repository), `path` (a local folder), or `init: random` with `config`' })
  }
  ctx.emitSync({ _tag: 'Log', level: 'info', message: `model ${m.id}@${m.revision} from the hub (cache: reused when present)` })
  const snap = await snapshotDownload(m.id, {
    ...hubOptionsFor(ctx),
    revision: m.revision,
    // A config-only random init needs no weights.
    allowPatterns: init === 'random' ? MODEL_FILES.filter((f) => !f.includes('safetensors')) : MODEL_FILES,
  })
  return { dir: snap.path, init, configPath: explicitConfig ?? join(snap.path, 'config.json'), source: `hub:${m.id}@${snap.commitHash}`, commit: snap.commitHash }
}
