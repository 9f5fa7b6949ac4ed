// The Ink front end as an event sink. Ink never puts the terminal in raw mode here (nothing reads
// keys), so Ctrl-C stays a SIGINT for `lorapipe run` to handle: the first stops the run cleanly,
// the second exits at once. Ink restores the cursor on unmount and on process exit.
import { render } from 'ink'
import { now, type EventSink } from '@lorapipe/core'
import { LiveApp } from './app.tsx'
import { initialState } from './state.ts'
import { createStore, type UiStore } from './store.ts'
import { escapeControlDeep } from '@lorapipe/core/text/control-chars.ts'

export interface InkUi {
  readonly sink: EventSink
  readonly store: UiStore
  /** A line printed above the live area (e.g. "stopping cleanly"). */
  readonly notice: (message: string, level?: 'info' | 'warn' | 'error') => void
  /** Draws the final frame (the summary stays on screen) and releases the terminal. */
  readonly close: () => Promise<void>
}

export interface InkUiOptions {
  readonly verbose?: boolean
  /** Colours unless NO_COLOR is set (https://no-color.org). */
  readonly color?: boolean
  readonly reportPath?: string
  readonly stdout?: NodeJS.WriteStream
}

export function inkUi(opts: InkUiOptions = {}): InkUi {
  const store = createStore(initialState({ verbose: opts.verbose }))
  const color = opts.color ?? !process.env.NO_COLOR
  return {
    sink: guarded(store.dispatch),
    store,
    notice: (message, level = 'warn') => store.dispatch({ _tag: 'Log', level, message, time: now() }),
    close: mountLive(<LiveApp store={store} color={color} reportPath={opts.reportPath} />, opts.stdout),
  }
}

/**
 * A sink that never throws: a drawing problem must not stop a training run. Text in events comes
 * from input (data headers, server messages): its control characters are shown, not obeyed.
 */
export function guarded<E>(dispatch: (e: E) => void): (e: E) => void {
  return (e) => {
    try {
      dispatch(escapeControlDeep(e))
    } catch {
      // Ignored on purpose (see above).
    }
  }
}

/** Renders a live app; the returned close draws the final frame and releases the terminal. */
export function mountLive(node: React.ReactElement, stdout: NodeJS.WriteStream = process.stdout): () => Promise<void> {
  const instance = render(node, { stdout, exitOnCtrlC: false, patchConsole: true, maxFps: 10 })
  let closed = false
  return async () => {
    if (closed) return
    closed = true
    // Let React commit the last state before unmounting, so the final frame is the summary.
    await new Promise((r) => setTimeout(r, 50))
    instance.unmount()
    await instance.waitUntilExit().catch(() => undefined)
  }
}
