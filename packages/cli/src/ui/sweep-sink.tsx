// The Ink front end of `lorapipe sweep` as a sweep event sink. As for a run (sink.tsx), the
// terminal is never put in raw mode, so Ctrl-C stays a SIGINT that stops the sweep cleanly.
import { now, type SweepEventSink } from '@lorapipe/core'
import { guarded, mountLive } from './sink.tsx'
import { LiveSweepApp } from './sweep-app.tsx'
import { initialSweepState } from './sweep-state.ts'
import { createSweepStore, type SweepStore } from './sweep-store.ts'

export interface InkSweepUi {
  readonly sink: SweepEventSink
  readonly store: SweepStore
  /** A line printed above the live area (e.g. "stopping cleanly"). */
  readonly notice: (message: string, level?: 'info' | 'warn' | 'error') => void
  /** Draws the final frame (the summary stays on screen) and releases the terminal. */
  readonly close: () => Promise<void>
}

export interface InkSweepUiOptions {
  readonly verbose?: boolean
  /** Colours unless NO_COLOR is set (https://no-color.org). */
  readonly color?: boolean
  readonly stdout?: NodeJS.WriteStream
}

export function inkSweepUi(opts: InkSweepUiOptions = {}): InkSweepUi {
  const store = createSweepStore(initialSweepState({ verbose: opts.verbose }))
  const color = opts.color ?? !process.env.NO_COLOR
  return {
    sink: guarded(store.dispatch),
    store,
    notice: (message, level = 'warn') => store.dispatch({ _tag: 'SweepLog', level, message, time: now() }),
    close: mountLive(<LiveSweepApp store={store} color={color} />, opts.stdout),
  }
}
