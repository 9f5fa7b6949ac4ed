// The one way a file the user named (a pipeline, a sweep file, data, a stage module, a model's
// configs and weights, run and sweep folders' records) is read. A name can lead anywhere: to
// /dev/zero (endless), a FIFO (blocks until someone writes), a folder, a symbolic link loop, or a
// file of gigabytes. Here only a regular file is read, never more than its kind's limit, and
// everything else is refused at once with its path and the problem in words.
//
// The path is looked at first (stat), so a device or FIFO is refused without being opened
// (opening some devices does something); then it is opened non-blocking (a FIFO swapped in
// meanwhile cannot block the open) and the opened descriptor is looked at again (fstat), so what
// is read is what was checked. Reading stops at limit + 1 bytes whatever the size says: files in
// /proc and the like say 0.
import { constants as bufferLimits } from 'node:buffer'
import { closeSync, constants as C, fstatSync, lstatSync, openSync, read, readlinkSync, readSync, realpathSync, statSync, type Stats } from 'node:fs'
import { promisify } from 'node:util'
import * as Data from 'effect/Data'
import { kindOf } from './atomic.ts'

/** A kind of file the user names, with the most lorapipe reads of one. */
export interface FileKind {
  /** The kind in words, for messages: "pipeline or sweep file". */
  readonly what: string
  /** Bytes; Infinity where the reader checks sizes itself (still a regular file, and at most what one Buffer holds). */
  readonly maxBytes: number
  readonly tooLargeHint?: string
  readonly folderHint?: string
}

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Every kind's limit, in one place. A limit bounds the memory one file can take and says "wrong
 * file" early; it is far above any real file of the kind.
 */
export const FILE_KINDS = {
  /** Pipelines, files they extend, sweep files, config.resolved.yaml: a few kB written by hand (the README's 4 MiB). */
  yaml: {
    what: 'pipeline or sweep file',
    maxBytes: 4 * MiB,
    tooLargeHint: 'is this the right file? pipeline files are a few kB of hand-written YAML',
    folderHint: 'give the path of a .yaml file',
  },
  /**
   * JSON configs: config.json, tokenizer_config.json, adapter_config.json, special_tokens_map.json,
   * model.safetensors.index.json, run.json, sweep.json. The largest real ones (a tokenizer_config.json
   * with every added token, the shard index of a model of hundreds of billions of weights) are under 10 MiB.
   */
  config: { what: 'JSON configuration file', maxBytes: 16 * MiB },
  /** tokenizer.json and vocab.txt: a vocabulary of 256k tokens with its merges is about 35 MB. */
  tokenizer: { what: 'tokenizer file', maxBytes: 64 * MiB },
  /** A custom stage's module (TypeScript or JavaScript source): code written by hand. */
  stageModule: { what: 'stage module', maxBytes: 16 * MiB, folderHint: 'give the path of a .ts or .js file' },
  /**
   * TSV, CSV and JSONL data and `predict --input` files are read whole into one string: at most
   * the longest string Node holds (about 512 MiB). Larger data goes into several files (a `*` glob) or Parquet.
   */
  textData: {
    what: 'text data file',
    maxBytes: bufferLimits.MAX_STRING_LENGTH,
    tooLargeHint: 'split it into several files and name them with a `*` glob, or convert it to Parquet',
  },
  /** Parquet is read whole into one buffer: at most what one Buffer holds. */
  parquet: { what: 'Parquet file', maxBytes: Infinity, tooLargeHint: 'split it into several files and name them with a `*` glob' },
  /** .safetensors weights: the reader checks every size in the header against the file. */
  weights: { what: 'weights file', maxBytes: Infinity },
  /** A token or password kept in a file: one line. */
  secret: { what: 'token or password file', maxBytes: 64 * KiB },
  /** Data and weights hashed in parts for a run's manifest: any size, but a regular file. */
  hashed: { what: 'input file', maxBytes: Infinity },
} as const satisfies Record<string, FileKind>

/** What is wrong with a file the user named. */
export type FileProblem = 'not found' | 'folder' | 'special file' | 'symbolic link loop' | 'too large' | 'permission denied' | 'path through a file' | 'unreadable'

export class UserFileError extends Data.TaggedError('UserFileError')<{
  readonly path: string
  readonly problem: FileProblem
  /** The kind of file that was expected ("pipeline or sweep file"). */
  readonly what: string
  /** For a special file: what it is, in words ("FIFO (named pipe)", "character device"). */
  readonly kind?: string | undefined
  /** For a special file reached through a symbolic link, or a link to nowhere: where it leads. */
  readonly target?: string | undefined
  /** For a file too large: its size when known (a /proc file says 0), and the limit. */
  readonly size?: number | undefined
  readonly limit?: number | undefined
  /** For an unreadable file: the system's words. */
  readonly detail?: string | undefined
  readonly hintText?: string | undefined
}> {
  /** The problem without the path, for messages already placed at the file ("is a folder, not a file"). */
  get reason(): string {
    switch (this.problem) {
      case 'not found':
        return this.target !== undefined ? `is a symbolic link to ${this.target}, which does not exist` : 'does not exist'
      case 'folder':
        return 'is a folder, not a file'
      case 'special file':
        return `is a ${this.kind}, not a regular file${this.target !== undefined ? ` (through a symbolic link to ${this.target})` : ''}`
      case 'symbolic link loop':
        return 'is a symbolic link loop (the links lead back to themselves)'
      case 'too large':
        return this.size !== undefined
          ? `is ${sizeWords(this.size)}; a ${this.what} may be at most ${sizeWords(this.limit!)}`
          : `is larger than ${sizeWords(this.limit!)}, the most a ${this.what} may be`
      case 'permission denied':
        return 'cannot be read: permission denied'
      case 'path through a file':
        return 'cannot be reached: a part of the path is a file, not a folder'
      case 'unreadable':
        return `cannot be read: ${this.detail}`
    }
  }

  override get message(): string {
    return `${this.path} ${this.reason}`
  }

  get hint(): string {
    if (this.hintText) return this.hintText
    switch (this.problem) {
      case 'not found':
        return 'check the path (relative paths are resolved from the current folder, or from the file that names them)'
      case 'folder':
        return `give the path of the ${this.what} itself`
      case 'special file':
        return `lorapipe reads only regular files (a FIFO, a device or a socket can block or never end); put the content in a file and name that`
      case 'symbolic link loop':
        return 'point the link at the file itself'
      case 'too large':
        return 'is this the right file?'
      case 'permission denied':
        return 'lorapipe only reads the file: give your user permission to read it'
      case 'path through a file':
        return 'check the path: a name before the last `/` is a file'
      case 'unreadable':
        return 'check the file and the disk it is on'
    }
  }
}

export function sizeWords(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GiB`
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`
  return n >= KiB ? `${Math.ceil(n / KiB)} KiB` : `${n} bytes`
}

// One Buffer holds at most this much (4 GiB on 64-bit Node 20); the byte past the limit must fit too.
const maxLimit = (kind: FileKind) => Math.min(kind.maxBytes, bufferLimits.MAX_LENGTH - 1)

function fromErrno(path: string, kind: FileKind, e: unknown): UserFileError {
  const err = e as NodeJS.ErrnoException
  const base = { path, what: kind.what }
  switch (err.code) {
    case 'ENOENT': {
      // A link to nowhere is named as one: "no such file" for a name that is there would puzzle.
      let target: string | undefined
      try {
        if (lstatSync(path).isSymbolicLink()) target = readlinkSync(path)
      } catch {
        // not there at all
      }
      return new UserFileError({ ...base, problem: 'not found', target })
    }
    case 'ELOOP':
      return new UserFileError({ ...base, problem: 'symbolic link loop' })
    case 'EISDIR':
      return new UserFileError({ ...base, problem: 'folder', hintText: kind.folderHint })
    case 'EACCES':
    case 'EPERM':
      return new UserFileError({ ...base, problem: 'permission denied' })
    case 'ENOTDIR':
      return new UserFileError({ ...base, problem: 'path through a file' })
    default:
      return new UserFileError({ ...base, problem: 'unreadable', detail: err.code ? `${err.message.replace(/^E[A-Z]+:\s*/, '').replace(/,\s*\w+\s+'.*'$/, '')} (${err.code})` : String(err.message ?? err) })
  }
}

/** Refuses anything but a regular file of at most `limit` bytes (by what the file says it holds). */
function refuseUnlessFitting(path: string, kind: FileKind, st: Stats, limit: number): void {
  if (st.isDirectory()) throw new UserFileError({ path, what: kind.what, problem: 'folder', hintText: kind.folderHint })
  const special = kindOf(st)
  if (special) {
    let target: string | undefined
    try {
      if (lstatSync(path).isSymbolicLink()) target = realpathSync(path)
    } catch {
      // gone meanwhile: the kind alone says enough
    }
    throw new UserFileError({ path, what: kind.what, problem: 'special file', kind: special, target })
  }
  if (st.size > limit) throw new UserFileError({ path, what: kind.what, problem: 'too large', size: st.size, limit, hintText: kind.tooLargeHint })
}

const OPEN_FLAGS = C.O_RDONLY | (C.O_NONBLOCK ?? 0) | (C.O_NOCTTY ?? 0)

/**
 * Opens `path` for reading once it is known to be a regular file within the limit, for a caller
 * that reads it in parts (a stream on the descriptor): it must close the descriptor. `whole`:
 * the file is to be read into one Buffer, which caps the limit at what one Buffer holds.
 */
export function openUserFile(path: string, kind: FileKind, whole = false): { fd: number; size: number } {
  const limit = whole ? maxLimit(kind) : kind.maxBytes
  let st: Stats
  try {
    st = statSync(path)
  } catch (e) {
    throw fromErrno(path, kind, e)
  }
  refuseUnlessFitting(path, kind, st, limit)
  let fd: number
  try {
    fd = openSync(path, OPEN_FLAGS)
  } catch (e) {
    throw fromErrno(path, kind, e)
  }
  try {
    const now = fstatSync(fd)
    refuseUnlessFitting(path, kind, now, limit)
    return { fd, size: now.size }
  } catch (e) {
    closeSync(fd)
    throw e
  }
}

const tooLarge = (path: string, kind: FileKind) => new UserFileError({ path, what: kind.what, problem: 'too large', limit: maxLimit(kind), hintText: kind.tooLargeHint })

/** The buffer a file is read into: sized from what the file says it holds, grown up to limit + 1 bytes. */
class Filling {
  private buf: Buffer
  private n = 0
  private readonly cap: number
  constructor(
    private readonly path: string,
    private readonly kind: FileKind,
    size: number,
  ) {
    this.cap = maxLimit(kind) + 1
    this.buf = Buffer.allocUnsafe(Math.min(this.cap, Math.max(size + 1, 64 * KiB)))
  }
  /** Where the next read goes: [buffer, offset, length]. */
  space(): [Buffer, number, number] {
    if (this.n === this.buf.length) {
      if (this.buf.length >= this.cap) throw tooLarge(this.path, this.kind)
      const bigger = Buffer.allocUnsafe(Math.min(this.cap, this.buf.length * 2))
      this.buf.copy(bigger, 0, 0, this.n)
      this.buf = bigger
    }
    // At most 1 GiB a read: one read(2) call takes at most 2 GiB.
    return [this.buf, this.n, Math.min(this.buf.length - this.n, 1024 * MiB)]
  }
  /** Counts `got` bytes read; false at the end of the file. */
  add(got: number): boolean {
    this.n += got
    return got > 0
  }
  done(): Buffer {
    if (this.n > maxLimit(this.kind)) throw tooLarge(this.path, this.kind)
    return this.buf.subarray(0, this.n)
  }
}

const readAsync = promisify(read)

/** The bytes of a file the user named. Throws UserFileError. */
export function readUserFile(path: string, kind: FileKind): Buffer {
  const { fd, size } = openUserFile(path, kind, true)
  try {
    const f = new Filling(path, kind, size)
    for (;;) {
      const [b, off, len] = f.space()
      let got: number
      try {
        got = readSync(fd, b, off, len, null)
      } catch (e) {
        throw fromErrno(path, kind, e)
      }
      if (!f.add(got)) return f.done()
    }
  } finally {
    closeSync(fd)
  }
}

/** The text (UTF-8) of a file the user named. Throws UserFileError. */
export function readUserText(path: string, kind: FileKind): string {
  return readUserFile(path, kind).toString('utf8')
}

/** readUserFile without blocking the event loop while a large file (weights) is read. Rejects with UserFileError. */
export async function readUserFileAsync(path: string, kind: FileKind): Promise<Buffer> {
  const { fd, size } = openUserFile(path, kind, true)
  try {
    const f = new Filling(path, kind, size)
    for (;;) {
      const [b, off, len] = f.space()
      let got: number
      try {
        got = (await readAsync(fd, b, off, len, null)).bytesRead
      } catch (e) {
        throw fromErrno(path, kind, e)
      }
      if (!f.add(got)) return f.done()
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * The same rules without reading: for a file handed to a library that reads it itself, or read in
 * parts. Returns its size; throws UserFileError.
 */
export function checkUserFile(path: string, kind: FileKind): { size: number } {
  const { fd, size } = openUserFile(path, kind)
  closeSync(fd)
  return { size }
}

/** checkUserFile's verdict as a value: undefined for a file that may be read. */
export function userFileProblem(path: string, kind: FileKind): UserFileError | undefined {
  try {
    checkUserFile(path, kind)
    return undefined
  } catch (e) {
    if (e instanceof UserFileError) return e
    throw e
  }
}
