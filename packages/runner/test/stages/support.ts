// A StageContext for calling built-in stages directly, recording the events they emit.
import { isAbsolute, resolve } from 'node:path'
import * as Effect from 'effect/Effect'
import type { StageContext, StageEvent } from '@lorapipe/core'

export function stageContext(dir: string, options: { seed?: number; pipelineDir?: string; events?: StageEvent[]; signal?: AbortSignal; runtime?: StageContext['runtime'] } = {}): StageContext {
  const events = options.events ?? []
  const base = options.pipelineDir ?? dir
  return {
    stageId: 'test',
    pipelineName: 'test',
    pipelineDir: base,
    runDir: dir,
    dir,
    seed: options.seed ?? 42,
    runtime: options.runtime ?? { backend: 'cpu' },
    inputs: {},
    emit: (e) => Effect.sync(() => void events.push(e)),
    emitSync: (e) => void events.push(e),
    log: (message, level = 'info') => Effect.sync(() => void events.push({ _tag: 'Log', level, message })),
    signal: options.signal ?? new AbortController().signal,
    resolvePath: (p) => (isAbsolute(p) ? p : resolve(base, p)),
  }
}
