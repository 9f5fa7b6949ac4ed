// The run folder's `events.jsonl`: every event, one JSON object per line, appended as it happens
// so that a killed run still has its history up to the kill.
import { appendFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { EventSink } from '../events.ts'
import { makeFolder } from '../fs/make-folder.ts'

export function jsonlFileSink(file: string): EventSink {
  makeFolder(dirname(file))
  return (event) => appendFileSync(file, JSON.stringify(event) + '\n')
}
