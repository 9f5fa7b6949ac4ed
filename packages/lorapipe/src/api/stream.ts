// What a run or a sweep started from the API returns: its events as an async iterable (every
// event from the start, buffered until read) and its outcome as a promise, on one object, so that
// `await runPipeline(...)` and `for await (const e of runPipeline(...))` both read naturally.

export interface Running<E, R> extends AsyncIterable<E>, PromiseLike<R> {
  /** The outcome (the same promise `await` waits on). */
  readonly result: Promise<R>
  /** Stops it cleanly, as Ctrl-C does (stages interrupted, checkpoints kept); the outcome is then `interrupted`. */
  stop(): void
}

/** A buffered stream of events that ends when `end` is called. */
export class EventQueue<E> implements AsyncIterable<E> {
  private readonly buffer: E[] = []
  private ended = false
  private error: { readonly error: unknown } | undefined
  private wake: (() => void) | undefined

  push(e: E): void {
    this.buffer.push(e)
    this.wake?.()
  }

  /** No more events; with `error`, iterating throws it after the last event. */
  end(error?: unknown): void {
    this.ended = true
    this.error = error === undefined ? undefined : { error }
    this.wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<E> {
    let i = 0
    for (;;) {
      if (i < this.buffer.length) yield this.buffer[i++]!
      else if (this.ended) {
        if (this.error) throw this.error.error
        return
      }
      else await new Promise<void>((r) => (this.wake = r))
    }
  }
}

/** `result` ends the queue: iterating ends with the outcome, or throws what `result` rejects with. */
export function running<E, R>(queue: EventQueue<E>, result: Promise<R>, stop: () => void): Running<E, R> {
  // A rejection reaches the caller through `await`/`result`, or through iterating: not unhandled.
  result.then(() => queue.end(), (e: unknown) => queue.end(e))
  return {
    result,
    stop,
    then: (onfulfilled, onrejected) => result.then(onfulfilled, onrejected),
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  }
}
