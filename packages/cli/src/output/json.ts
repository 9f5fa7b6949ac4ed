// `--json`: the event stream as JSON lines on stdout and nothing else, for other tools.
import type { EventSink } from '@lorapipe/core'

export function jsonSink(write: (s: string) => void = (s) => process.stdout.write(s)): EventSink {
  return (e) => write(JSON.stringify(e) + '\n')
}
