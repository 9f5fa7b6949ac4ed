// The `--model` / `--adapter` / `--revision` arguments of the commands that use a model directly
// (predict, score): a local folder, else a hub id fetched into the Hugging Face cache (offline:
// HF_HUB_OFFLINE reads the cache only); without --model, the base the adapter names, as PEFT's
// AutoPeftModel loads it.
import { existsSync } from 'node:fs'
import { UsageError } from '../args.ts'
import { escapeControl } from '@lorapipe/core/text/control-chars.ts'
import { modelSchema } from '@lorapipe/core/pipeline/sections/model.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'

export interface ModelArguments {
  readonly model?: string | undefined
  readonly adapter?: string | undefined
  readonly revision?: string | undefined
}

/** `./model`, `/abs/dir`, `~/m`, `a/b/c`: a path; `name` and `org/name` may be hub ids. */
export function looksLikePath(s: string): boolean {
  return /^(\.{1,2}[\\/]|[\\/]|~)/.test(s) || s.split('/').length > 2 || s.includes('\\') || s.endsWith('/')
}

/**
 * What is wrong with the arguments before anything is loaded: a UsageError thrown (an adapter
 * folder given as --model), or the message of a model folder that does not exist (bad input).
 */
export async function modelArgumentProblem(args: ModelArguments, example: string): Promise<string | undefined> {
  const { model } = args
  if (model && existsSync(model)) {
    const { isAdapterFolder } = await import('@lorapipe/runner/lora/base-model.ts')
    if (isAdapterFolder(model)) {
      throw new UsageError(`${model} is a PEFT adapter folder, not a model: use --adapter ${model} (its base model is read from adapter_config.json; --model overrides it)`)
    }
  }
  // A path that is not there is a missing folder, not a hub id with a typo.
  if (model && !existsSync(model) && looksLikePath(model)) {
    return `error: the model folder ${escapeControl(model)} does not exist\n  hint: give a model folder (config.json, model.safetensors, tokenizer files) or a hub id such as \`${example}\`\n`
  }
  return undefined
}

/** The model folder: local, or resolved through the hub cache (downloading what is missing unless offline). */
export async function resolveModelFolder(args: ModelArguments, quiet: boolean): Promise<string> {
  const { resolveModel } = await import('@lorapipe/runner/resolve/index.ts')
  const { adapterBase } = await import('@lorapipe/runner/lora/base-model.ts')
  const source = args.model
    ? existsSync(args.model)
      ? { path: args.model }
      : { id: args.model, ...(args.revision ? { revision: args.revision } : {}) }
    : adapterBase(args.adapter!)
  if (!args.model && !quiet) process.stderr.write(`base model ${'path' in source ? source.path : source.id} (from ${args.adapter}/adapter_config.json)\n`)
  const model = await resolveModel(withDefaults(modelSchema, source), {
    resolvePath: (p) => p,
    signal: new AbortController().signal,
    emitSync: (e) => {
      if (e._tag === 'Download' && e.done) process.stderr.write(`downloaded ${e.repo}/${e.file}\n`)
      if (e._tag === 'Log' && e.level !== 'debug') process.stderr.write(`${e.message}\n`)
    },
  })
  return model.dir!
}
