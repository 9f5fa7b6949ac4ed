// Runs Promise-based work as an Effect that, when interrupted (Ctrl-C), aborts the work's signal
// and waits for it to wind down, so its finalizers (disposing tensors, closing files) run before
// the executor records the stage as interrupted.
import * as Effect from 'effect/Effect'

export function interruptible<A>(run: (signal: AbortSignal) => Promise<A>, outer?: AbortSignal): Effect.Effect<A, unknown> {
  return Effect.async<A, unknown>((resume) => {
    const controller = new AbortController()
    const onOuter = () => controller.abort()
    if (outer?.aborted) controller.abort()
    else outer?.addEventListener('abort', onOuter, { once: true })
    const p = Promise.resolve().then(() => run(controller.signal))
    p.then(
      (a) => resume(Effect.succeed(a)),
      (e) => resume(Effect.fail(e)),
    ).finally(() => outer?.removeEventListener('abort', onOuter))
    return Effect.promise(() => {
      controller.abort()
      return p.then(
        () => undefined,
        () => undefined,
      )
    })
  })
}
