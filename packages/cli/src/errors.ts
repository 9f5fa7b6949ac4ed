// How lorapipe ends when something goes wrong that a command did not report itself, and what
// happens to everything it prints. One place for it all:
// - every write to stdout and stderr has secrets redacted (the hub token, token-shaped strings);
// - a reader that goes away (EPIPE: `lorapipe ... | head`) ends the process quietly, as a CLI
//   killed by SIGPIPE, with 141; output that cannot be written (a full disk, an I/O error) is an
//   error on stderr and never exit 0;
// - a thrown error becomes one line (with its hint), never a stack trace: a file-system error
//   names the path and says what is wrong in words; a tagged error says what it says; anything
//   else is reported as a bug. LORAPIPE_DEBUG=1 adds the stack.
import { escapeControl } from '@lorapipe/core/text/control-chars.ts'
import { exitProcess, isProcessExitRefused } from '@lorapipe/core/graph/process-watch.ts'
import { redact } from '@lorapipe/core/text/redact.ts'
import { UsageError } from './args.ts'
import { EXIT } from './exit-codes.ts'

/** Exit status of a process whose output pipe was closed by its reader (128 + SIGPIPE). */
export const EXIT_BROKEN_PIPE = 141

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'it already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'the file or device is busy',
  EXDEV: 'it is on another file system',
  EFBIG: 'the file is too large',
}

// Out of space or a failing device: the input was fine, the run failed. Everything else about a
// path the user named (missing, a file where a folder is needed, read-only) is bad input.
const FAILED_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EMFILE', 'EBUSY', 'EFBIG'])

const VERBS: Record<string, string> = {
  open: 'open', read: 'read', write: 'write to', mkdir: 'create the folder', rename: 'move a file to', rmdir: 'remove',
  unlink: 'remove', scandir: 'list', stat: 'use', lstat: 'use', copyfile: 'copy to', fsync: 'write to', access: 'access',
}

interface Errno {
  readonly code: string
  readonly syscall?: string
  readonly path?: string
  readonly dest?: string
  readonly message: string
}

function isErrno(e: unknown): e is Errno {
  return typeof e === 'object' && e !== null && typeof (e as Errno).code === 'string' && /^E[A-Z]+$/.test((e as Errno).code) && typeof (e as Errno).message === 'string'
}

/** `cannot create the folder /x/y: the file system is read-only` */
export function errnoMessage(e: Errno): string {
  const words = ERRNO_WORDS[e.code] ?? e.message.replace(/^E[A-Z]+:\s*/, '').replace(/,\s*\w+\s+'.*'$/, '')
  // A temporary file beside the target (`.name.tmp-<pid>-<hex>`) is named as the target.
  const path = (e.dest ?? e.path)?.replace(/(^|\/)\.([^/]+)\.tmp-\d+-[0-9a-f]+$/, '$1$2')
  const verb = (e.syscall && VERBS[e.syscall]) ?? 'use'
  return path ? `cannot ${verb} ${path}: ${words} (${e.code})` : `${words} (${e.code}${e.syscall ? `, ${e.syscall}` : ''})`
}

/** Tagged errors about what the user gave (a path, a name, a file's content): exit 2. */
const BAD_INPUT_TAGS = new Set([
  'NotARegularFile', 'UserFileError', 'PipelineInvalid', 'InvalidHubNameError', 'ModelConfigError', 'ModelSourceError', 'SafetensorsError',
  'DatasetError', 'TokenizerError', 'LoraError', 'SetupError', 'RepoNotFoundError', 'RevisionNotFoundError', 'EntryNotFoundError',
])

interface Described {
  readonly message: string
  readonly hint?: string
  readonly code: number
}

/** What to print for an error that reached the top, and the exit status. */
export function describeFailure(e: unknown): Described {
  if (e instanceof UsageError) return { message: e.message, code: EXIT.badInput }
  // Effect's FiberFailure wraps the real error.
  const inner = (e as { cause?: unknown } | null)?.cause
  if (isErrno(e)) return { message: errnoMessage(e), code: FAILED_ERRNO.has(e.code) ? EXIT.failed : EXIT.badInput }
  if (typeof e === 'object' && e !== null && typeof (e as { _tag?: unknown })._tag === 'string') {
    const t = e as { _tag: string; message?: string; hint?: unknown }
    const hint = typeof t.hint === 'string' ? t.hint : undefined
    // Tagged errors explain themselves; those about what the user gave are bad input.
    return { message: t.message || t._tag, ...(hint ? { hint } : {}), code: BAD_INPUT_TAGS.has(t._tag) ? EXIT.badInput : EXIT.failed }
  }
  if (inner && inner !== e && (isErrno(inner) || (typeof inner === 'object' && '_tag' in (inner as object)))) return describeFailure(inner)
  const message = e instanceof Error ? e.message : String(e)
  return { message: `${message.split('\n')[0]}\n  (an unexpected error; please report it with LORAPIPE_DEBUG=1 output)`, code: EXIT.failed }
}

/** Prints an error that reached the top level and returns the exit status. */
export function reportFailure(e: unknown): number {
  const d = describeFailure(e)
  let text = `error: ${escapeControl(d.message)}\n${d.hint ? `  hint: ${escapeControl(d.hint)}\n` : ''}`
  if (process.env.LORAPIPE_DEBUG && e instanceof Error && e.stack) text += `${e.stack}\n`
  writeStderr(text)
  return d.code
}

function writeStderr(s: string): void {
  try {
    process.stderr.write(s)
  } catch {
    // stderr itself is gone: nothing left to tell.
  }
}

let outputFailed = false

/**
 * Installs the output guards: redaction on stdout and stderr, and handlers for their errors.
 * Call once, first thing.
 */
export function guardOutput(): void {
  for (const [stream, name] of [
    [process.stdout, 'standard output'],
    [process.stderr, 'standard error'],
  ] as const) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? redact(chunk) : chunk, ...rest)) as typeof stream.write
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') exitProcess(EXIT_BROKEN_PIPE)
      if (outputFailed) return
      outputFailed = true
      if (stream !== process.stderr) writeStderr(`error: cannot write to ${name}: ${ERRNO_WORDS[e.code ?? ''] ?? e.message} (${e.code ?? 'error'}); the output is incomplete\n`)
    })
  }
  // Anything thrown outside a command's own handling (a callback, a stream): one line, no stack.
  // A stage's refused process.exit thrown from its timer is not one: its stage failed already.
  process.on('uncaughtException', (e) => isProcessExitRefused(e) || exitProcess(reportFailure(e)))
  process.on('unhandledRejection', (e) => isProcessExitRefused(e) || exitProcess(reportFailure(e)))
}

/** The exit status once output is flushed: a command that "succeeded" but whose output was lost did not. */
export function finalExitCode(code: number, flushError?: NodeJS.ErrnoException | null): number {
  if (flushError?.code === 'EPIPE') return EXIT_BROKEN_PIPE
  if (flushError && !outputFailed) {
    outputFailed = true
    writeStderr(`error: cannot write to standard output: ${ERRNO_WORDS[flushError.code ?? ''] ?? flushError.message} (${flushError.code ?? 'error'}); the output is incomplete\n`)
  }
  return outputFailed && code === EXIT.ok ? EXIT.failed : code
}
