// Checks made before a run folder exists, so that bad input (labels that do not fit the model,
// a missing column, an empty split, a model folder that is not one, LoRA targets the model does
// not have) ends with exit 2 and nothing written. `lorapipe validate` runs the same checks.
// Only what is local or already cached is checked: a preflight never downloads; what must come
// from the hub is checked when the stage starts, and the preflight says so.
import { isAbsolute, resolve } from 'node:path'

const BAD_INPUT = new Set(['SetupError', 'DatasetError', 'DatasetSplitNotFoundError', 'ModelSourceError', 'ModelConfigError', 'TokenizerError', 'LoraError'])

export interface PreflightProblem {
  /** JSON pointer into the stage's parameters (e.g. `/lora/target_modules`), when one key is at fault. */
  readonly pointer?: string
  readonly message: string
  readonly hint?: string
}

export interface PreflightResult {
  readonly problems: readonly PreflightProblem[]
  /** What could not be checked without downloading, in words. */
  readonly unchecked: readonly string[]
}

const tagOf = (e: unknown) => (e as { _tag?: string } | null)?._tag
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!

export async function preflightStage(uses: string, params: Record<string, any>, pipelineDir: string, seed: number): Promise<PreflightResult> {
  if (uses !== 'finetune' && uses !== 'evaluate') return { problems: [], unchecked: [] }
  const ctx = {
    resolvePath: (p: string) => (isAbsolute(p) ? p : resolve(pipelineDir, p)),
    emitSync: () => {},
    signal: new AbortController().signal,
    runtime: {},
    offline: true,
  }
  // The model first, without TensorFlow.js: when it is neither local nor cached there is nothing
  // more to check offline, and `validate` stays fast.
  const { resolveModel } = await import('../resolve/model.ts')
  try {
    await resolveModel(params.model ?? {}, ctx)
  } catch (e) {
    if (BAD_INPUT.has(tagOf(e) ?? '')) return { problems: [{ pointer: '/model', message: firstLine(e) }], unchecked: [] }
    const which = params.model?.id ? `model ${params.model.id}` : 'the model'
    return { problems: [], unchecked: [`${which} is not in the Hugging Face cache yet, so it, the data and the LoRA targets are checked when the run downloads it`] }
  }
  const problems: PreflightProblem[] = []
  const unchecked: string[] = []
  const { prepareData } = await import('../trainer/setup.ts')
  try {
    await prepareData(params.model ?? {}, params.dataset ?? {}, params.seed ?? seed, ctx, uses === 'finetune' ? 'train+eval' : 'eval')
  } catch (e) {
    if (BAD_INPUT.has(tagOf(e) ?? '')) {
      const pointer = /num_labels/.test((e as Error).message) ? '/model/num_labels' : (dataKeyPointer(e, params.dataset) ?? dataPathPointer(e, params.dataset, ctx.resolvePath))
      problems.push({ message: (e as Error).message, ...(pointer ? { pointer } : {}) })
    }
    else unchecked.push(`the data is not local or cached (${firstLine(e)}); it is checked when the run downloads it`)
  }
  if (uses === 'finetune' && params.lora) {
    const p = await loraTargets(params, ctx)
    if (p) problems.push(p)
  }
  return { problems, unchecked }
}

/** A missing column points at the `*_column` key, a missing hub split at its `split` key. */
function dataKeyPointer(e: unknown, dataset: Record<string, any> | undefined): string | undefined {
  if (tagOf(e) === 'DatasetSplitNotFoundError') {
    const s = (['train', 'eval'] as const).find((k) => dataset?.[k]?.split === (e as { split?: string }).split)
    return s ? `/dataset/${s}/split` : undefined
  }
  const column = /\b(text_column|label_column|text_pair_column) "[^"]*" is not a column\b/.exec(String((e as Error).message))?.[1]
  return column ? `/dataset/${column}` : undefined
}

/** A data file's error points at the `path` key that named the file (`dataset.train.path`, ...). */
function dataPathPointer(e: unknown, dataset: Record<string, any> | undefined, resolvePath: (p: string) => string): string | undefined {
  const file = tagOf(e) === 'DatasetError' ? (e as { file?: string }).file : undefined
  if (!file || !dataset) return undefined
  for (const split of ['train', 'eval'] as const) {
    const p = dataset[split]?.path
    if (typeof p === 'string' && resolvePath(p) === resolve(file)) return `/dataset/${split}/path`
  }
  return undefined
}

/** LoRA targets against the model's modules, from its config alone (no weights are read). */
async function loraTargets(params: Record<string, any>, ctx: Parameters<typeof import('../resolve/model.ts').resolveModel>[1]): Promise<PreflightProblem | undefined> {
  const [{ resolveModel }, { readModelConfig }, { modelSpec }, { planLora }, { loraConfigOf }] = await Promise.all([
    import('../resolve/model.ts'),
    import('../models/config.ts'),
    import('../models/architecture.ts'),
    import('../lora/inject.ts'),
    import('./finetune.ts'),
  ])
  try {
    const model = await resolveModel(params.model ?? {}, ctx)
    const config = await readModelConfig(model.configPath)
    planLora(modelSpec(config), config.modelType, loraConfigOf(params.lora))
    return undefined
  } catch (e) {
    if (tagOf(e) !== 'LoraError') return undefined // a model problem, reported by the data check
    const reason = (e as { reason: string }).reason
    const key = /^(modules_to_save|layers_to_transform|r)\b/.exec(reason)?.[1] ?? 'target_modules'
    const t = params.lora.target_modules
    // PEFT reads a string as a regular expression over the whole module path, so `q_lin` alone
    // matches nothing; the user almost always meant a list of names.
    const hint =
      key === 'target_modules' && typeof t === 'string' && t !== 'all-linear'
        ? `a string is a regular expression matched against the whole module path, as in PEFT; to name modules give a list: \`target_modules: [${t.split(/[|,]/).join(', ')}]\` in the file, or \`--set 'lora.target_modules=[${t.split(/[|,]/).join(',')}]'\` on the command line`
        : undefined
    return { pointer: `/lora/${key}`, message: `LoRA: ${reason}`, ...(hint ? { hint } : {}) }
  }
}
