// Checks made before a run folder exists, so that bad input (labels that do not fit the model,
// a missing column, an empty split, a model folder that is not one) ends with exit 2 and nothing
// written. Only what is local or already cached is checked: a preflight never downloads; what
// must come from the hub is checked when the stage starts.
import { isAbsolute, resolve } from 'node:path'
import { prepareData } from '../trainer/setup.ts'

const BAD_INPUT = new Set(['SetupError', 'DatasetError', 'DatasetSplitNotFoundError', 'ModelSourceError', 'ModelConfigError', 'TokenizerError'])

/** A message when the stage's inputs are wrong; undefined when they look right or cannot be checked offline. */
export async function preflightStage(uses: string, params: Record<string, any>, pipelineDir: string, seed: number): Promise<string | undefined> {
  if (uses !== 'finetune' && uses !== 'evaluate') return undefined
  const ctx = {
    resolvePath: (p: string) => (isAbsolute(p) ? p : resolve(pipelineDir, p)),
    emitSync: () => {},
    signal: new AbortController().signal,
    runtime: {},
    offline: true,
  }
  try {
    await prepareData(params.model ?? {}, params.dataset ?? {}, params.seed ?? seed, ctx, uses === 'finetune' ? 'train+eval' : 'eval')
    return undefined
  } catch (e) {
    const tag = (e as { _tag?: string })._tag
    return tag && BAD_INPUT.has(tag) ? (e as Error).message : undefined
  }
}
