// Hub calls made on behalf of a stage report their progress and warnings as the stage's events
// and stop when the stage is interrupted.
import type { StageContext } from '@lorapipe/core'
import type { DownloadOptions } from '../hub/index.ts'

/** `offline`: use the cache only (a check before a run must not download). */
export type HubCtx = Pick<StageContext, 'emitSync' | 'signal'> & { readonly offline?: boolean }

export function hubOptionsFor(ctx: HubCtx): DownloadOptions {
  return {
    ...(ctx.offline ? { offline: true } : {}),
    signal: ctx.signal,
    onProgress: (p) =>
      ctx.emitSync({ _tag: 'Download', repo: p.repo, file: p.file, bytes: p.bytes, ...(p.total !== undefined ? { total: p.total } : {}), ...(p.speed !== undefined ? { bytesPerSecond: p.speed } : {}), ...(p.done ? { done: true } : {}) }),
    onEvent: (e) => {
      if (e.type === 'warning') ctx.emitSync({ _tag: 'Log', level: 'warn', message: e.message })
      else if (e.type === 'waiting-for-lock') ctx.emitSync({ _tag: 'Log', level: 'info', message: `waiting for another download of ${e.repo}/${e.file} (${e.holder})` })
      else if (e.type === 'resume') ctx.emitSync({ _tag: 'Log', level: 'info', message: `resuming ${e.repo}/${e.file} at byte ${e.from} of ${e.total}` })
      else ctx.emitSync({ _tag: 'Log', level: 'warn', message: `retrying ${e.repo}/${e.file} (attempt ${e.attempt}): ${e.message}` })
    },
  }
}
