// The sweep's record, `sweep.jsonl`: every assignment, evaluation and result, one JSON object per
// line, appended and flushed to disk line by line, so that a sweep killed at any moment (kill -9,
// power loss) can be resumed from it. Only the last line can be torn by a kill; a reader drops it
// and a writer cuts it off before appending. An append that fails (a full disk) is cut back off,
// so the record holds exactly the entries that were acknowledged. Entries are keyed by trial, and a trial's first
// `finished` entry wins, so a result delivered twice is recorded once.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { writingFile } from '../../fs/append-lines.ts'
import { dirname } from 'node:path'
import type { Assignment, Goal, TrialState } from '../model.ts'
import type { SweepStatus } from '../events.ts'

export type RecordEntry =
  /** The coordinator started (or resumed) the sweep. */
  | { readonly type: 'sweep'; readonly time: string; readonly sweep: string; readonly method: string; readonly metric: { readonly name: string; readonly goal: Goal; readonly target?: number }; readonly concurrency: number; readonly resumed: boolean }
  /** The sampler gave trial `trial` this assignment; written before the trial starts. */
  | { readonly type: 'assigned'; readonly time: string; readonly trial: number; readonly assignment: Assignment; readonly runDir: string }
  /** An executor started the trial (fresh, or continuing from its run folder). */
  | { readonly type: 'started'; readonly time: string; readonly trial: number; readonly resume: boolean }
  /** The trial's objective after an evaluation, with all the metrics of that evaluation. */
  | { readonly type: 'metrics'; readonly time: string; readonly trial: number; readonly key: string; readonly evaluation: number; readonly step: number; readonly value: number; readonly metrics: Readonly<Record<string, number>> }
  | {
      readonly type: 'finished'
      readonly time: string
      readonly trial: number
      readonly state: Exclude<TrialState, 'running'>
      readonly value?: number
      readonly reason?: string
      readonly step?: number
    }
  /**
   * The recipe changed: files the trials are made of (the base pipeline, a file it extends, a
   * stage module) were edited, and the user resumed with `--accept-changes`. Trials assigned from
   * here on run under recipe `recipe` (the first is 1).
   */
  | { readonly type: 'recipe'; readonly time: string; readonly recipe: number; readonly files: readonly RecipeFileChange[] }
  /** The sweep ended (not written when it was interrupted: that one is resumable). */
  | { readonly type: 'ended'; readonly time: string; readonly status: Exclude<SweepStatus, 'interrupted'>; readonly reason: string }

/** A file of the recipe and how it differs from what the previous recipe was made of. */
export interface RecipeFileChange {
  readonly path: string
  readonly change: 'changed' | 'missing' | 'added'
}

export interface RecordRead {
  readonly entries: readonly RecordEntry[]
  /** Bytes at the end that do not form a whole line (a write cut short by a kill). */
  readonly tornBytes: number
}

/** Reads a record; a missing file is an empty record. Throws when a line other than the last is damaged. */
export function readRecord(file: string): RecordRead {
  if (!existsSync(file)) return { entries: [], tornBytes: 0 }
  const text = readFileSync(file, 'utf8')
  const lines = text.split('\n')
  // After the last '\n' is either nothing (a clean end) or the torn rest of a line.
  const tail = lines.pop() ?? ''
  const entries: RecordEntry[] = []
  lines.forEach((line, i) => {
    if (line.trim() === '') return
    try {
      entries.push(JSON.parse(line) as RecordEntry)
    } catch (e) {
      throw new Error(`${file}:${i + 1}: damaged record line (${(e as Error).message}); only the last line can be cut short by a kill`)
    }
  })
  return { entries, tornBytes: Buffer.byteLength(tail, 'utf8') }
}

export interface RecordWriter {
  append(entry: RecordEntry): void
  close(): void
}

/** Opens a record for appending; a torn last line is cut off first so the next entry starts a line. */
export function openRecord(file: string): RecordWriter {
  mkdirSync(dirname(file), { recursive: true })
  const { tornBytes } = readRecord(file)
  const fd = openSync(file, 'a+')
  if (tornBytes > 0) {
    const size = readFileSync(file).byteLength
    ftruncateSync(fd, size - tornBytes)
    fsyncSync(fd)
  }
  let open = true
  return {
    append(entry) {
      if (!open) throw new Error(`${file}: the record is closed`)
      const buf = Buffer.from(JSON.stringify(entry) + '\n', 'utf8')
      const before = fstatSync(fd).size
      writingFile(file, () => {
        try {
          let off = 0
          // Appends go to the end whatever the position (O_APPEND); fsync makes each line durable.
          while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off)
          fsyncSync(fd)
        } catch (e) {
          // Not written (a full disk, a failing device): the entry is not in the record, not even
          // half of it, so the next line (after --resume) starts clean.
          try {
            ftruncateSync(fd, before)
          } catch {
            // left torn: readRecord drops it and openRecord cuts it off
          }
          throw e
        }
      })
    },
    close() {
      if (open) closeSync(fd)
      open = false
    },
  }
}
