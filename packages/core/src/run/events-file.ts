// The run folder's `events.jsonl`: every event, one JSON object per line, appended as it happens
// so that a killed run still has its history up to the kill (a line cut short by the kill, or by
// a full disk, is cut off rather than glued to the next: see fs/append-lines.ts).
import { dirname } from 'node:path'
import type { EventSink } from '../events.ts'
import { lineAppender } from '../fs/append-lines.ts'
import { makeFolder } from '../fs/make-folder.ts'

export function jsonlFileSink(file: string): EventSink {
  makeFolder(dirname(file))
  const append = lineAppender(file)
  return (event) => append(JSON.stringify(event))
}
