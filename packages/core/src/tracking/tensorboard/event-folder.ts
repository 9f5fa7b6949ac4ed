// One TensorBoard run folder (`tb/<stage>/`): the event files earlier sessions of this run wrote,
// read back, and the file this session appends to. Each record is appended whole and at once
// (a failed write is cut back off), so TensorBoard can read the file while it grows and a kill
// loses at most the record being written. A resumed run starts a new file, as TensorFlow's
// writers do, and writes no (tag, step) that an earlier file holds: the steps it trains again
// after its checkpoint, and the evaluations it reports again, are already there.
import { closeSync, openSync, readFileSync, readdirSync, statSync, truncateSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { appendWhole, writingFile } from '../../fs/append-lines.ts'
import { makeFolder } from '../../fs/make-folder.ts'
import { fileVersionEvent, stepAndTags } from './messages.ts'
import { frameRecord, scanRecords } from './records.ts'

/** How an event file is recognised (TensorBoard's own test: the name contains `tfevents`). */
export const isEventFile = (name: string): boolean => name.includes('tfevents')

/** A problem with the folder or one of its files, for the tracker to explain. */
export class EventFolderProblem extends Error {
  constructor(readonly path: string, readonly reason: string, readonly damaged: boolean) {
    super(`${path}: ${reason}`)
  }
}

const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e)

export class EventFolder {
  /** The last step written for each tag, over every file. */
  private readonly last = new Map<string, number>()
  private file: string | undefined

  private constructor(readonly dir: string) {}

  /**
   * Reads what earlier sessions wrote in `dir` (when it exists; nothing is created yet). A last
   * record cut short by a kill is cut off; a record that fails its checksum is an error.
   */
  static scan(dir: string): EventFolder {
    const f = new EventFolder(dir)
    let names: string[]
    try {
      if (!statSync(dir).isDirectory()) throw new EventFolderProblem(dir, 'it is a file, not a folder', true)
      names = readdirSync(dir).filter(isEventFile).sort()
    } catch (e) {
      if (e instanceof EventFolderProblem) throw e
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return f
      throw new EventFolderProblem(dir, `cannot read it (${errnoOf(e)})`, false)
    }
    for (const name of names) {
      const path = join(dir, name)
      let bytes: Buffer
      try {
        if (!statSync(path).isFile()) throw new EventFolderProblem(path, 'it is not a regular file', true)
        bytes = readFileSync(path)
      } catch (e) {
        if (e instanceof EventFolderProblem) throw e
        throw new EventFolderProblem(path, `cannot read it (${errnoOf(e)})`, false)
      }
      const scan = scanRecords(bytes)
      if (!scan.ok) throw new EventFolderProblem(path, `${scan.reason} at byte ${scan.offset}; it is not an event file this run wrote, or it was damaged`, true)
      for (const r of scan.records) {
        let read
        try {
          read = stepAndTags(r)
        } catch (e) {
          throw new EventFolderProblem(path, `a record is not an Event (${(e as Error).message})`, true)
        }
        for (const tag of read.tags) f.last.set(tag, Math.max(f.last.get(tag) ?? -Infinity, read.step))
      }
      if (scan.end < bytes.length) {
        try {
          truncateSync(path, scan.end)
        } catch (e) {
          throw new EventFolderProblem(path, `its last record was cut short and cannot be cut off (${errnoOf(e)})`, false)
        }
      }
    }
    return f
  }

  /** Whether an earlier session (or this one) wrote `tag` at `step` or later. */
  has(tag: string, step: number): boolean {
    const last = this.last.get(tag)
    return last !== undefined && last >= step
  }

  /** The highest step written for any tag. */
  lastStep(): number {
    return Math.max(0, ...this.last.values())
  }

  /** Appends one encoded Event; the first of the session makes the folder and a new file. Throws errno errors with the path. */
  append(event: Uint8Array, step: number, tags: readonly string[], wallTime: number): void {
    if (this.file === undefined) {
      makeFolder(this.dir)
      this.file = newFileName(this.dir, wallTime)
      appendRecord(this.file, frameRecord(fileVersionEvent(wallTime)))
    }
    appendRecord(this.file, frameRecord(event))
    for (const tag of tags) this.last.set(tag, Math.max(this.last.get(tag) ?? -Infinity, step))
  }
}

/** `events.out.tfevents.<seconds>.<host>`, as TensorFlow names them; `.1`, `.2`... when a session of the same second has one. */
function newFileName(dir: string, wallTime: number): string {
  const base = `events.out.tfevents.${String(Math.floor(wallTime)).padStart(10, '0')}.${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}`
  const taken = new Set(readdirSync(dir))
  let name = base
  for (let n = 1; taken.has(name); n++) name = `${base}.${n}`
  return join(dir, name)
}

/** Appends `buf` whole, or cuts the file back to where it was and throws (naming the file). */
function appendRecord(file: string, buf: Buffer): void {
  writingFile(file, () => {
    const fd = openSync(file, 'a')
    try {
      // A record cut short by a failed cut is cut off when the run resumes (EventFolder.scan).
      appendWhole(fd, buf)
    } finally {
      closeSync(fd)
    }
  })
}
