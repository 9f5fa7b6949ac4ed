// The executor's watch over what stage code does to the process it shares with lorapipe. Two ways
// a stage can end without ending, and both would leave an unfinished run behind (no message, no
// report, a run.lock, a misleading exit status):
// - it ends the process: process.exit (or process.reallyExit, process.abort) while a run is in
//   progress is refused: the call throws (so the code after it does not run), and the stage that
//   made it fails with "called process.exit(<code>)". Which stage: the one whose fiber is running
//   (inline Effect code), the one whose Promise code the call descends from (AsyncLocalStorage),
//   the one whose module the stack names; failing that, every custom stage running then, named.
// - it never settles: its Promise or Effect waits on nothing at all, so Node would find its event
//   loop empty and exit 13 ("unsettled top-level await"). Node says so first with 'beforeExit':
//   every stage still running then fails with "never settled", and the run finishes normally. A
//   stage waiting on a timer or I/O keeps the loop busy and is never touched. Effect.never keeps
//   the loop busy on purpose with an interval of 2^31-1 ms that does nothing; such keep-alive
//   intervals made during a run do not hold the process open while the run lasts, so Effect.never
//   is seen for what it is.
// lorapipe's own exits (a second Ctrl-C, the end of the command) go through `exitProcess`.
import { AsyncLocalStorage } from 'node:async_hooks'
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as Data from 'effect/Data'
import * as Fiber from 'effect/Fiber'
import * as FiberRef from 'effect/FiberRef'
import * as Option from 'effect/Option'
import { escapeControlLine } from '../text/control-chars.ts'

/** A stage whose body started. */
export interface WatchedStage {
  readonly id: string
  /** The module file of a custom stage; undefined for built-ins (lorapipe's own code). */
  readonly module?: string | undefined
  /** What the body returned, once known: named in "never settled". */
  kind?: 'Effect' | 'Promise'
  /** Until its body ended. Code it left behind (a timer) may still act for it later. */
  running: boolean
  /** Fails the stage with `problem` (the first problem wins); after its body ended, the executor decides. */
  readonly fail: (problem: string) => void
}

/** One run of the executor: the stages that started, and problems no stage can be blamed for. */
export interface WatchedRun {
  readonly stages: Set<WatchedStage>
  readonly problems: string[]
}

/** The stage an Effect fiber works for (inherited by the fibers it forks). */
export const CurrentStage = FiberRef.unsafeMake<WatchedStage | undefined>(undefined)

/** The stage that Promise-based code descends from (timers and callbacks included). */
export const stageContext = new AsyncLocalStorage<WatchedStage>()

/** What a refused process.exit throws: the stage's code stops there; the stage has failed already. */
export class ProcessExitRefused extends Data.TaggedError('ProcessExitRefused')<{ readonly call: string }> {
  override get message(): string {
    return `stage code ${this.call} while lorapipe was running a pipeline; lorapipe failed the stage instead of ending the process`
  }
}

/** Whether `e` is what a refused exit throws (by tag: a bundle may hold two copies of this module). */
export function isProcessExitRefused(e: unknown): e is ProcessExitRefused {
  return typeof e === 'object' && e !== null && (e as { _tag?: unknown })._tag === 'ProcessExitRefused'
}

/** Effect.never's keep-alive interval, the longest Node allows (a longer one is taken as 1 ms, and is busy). */
const KEEP_ALIVE_MS = 2 ** 31 - 1

const runs = new Set<WatchedRun>()
/** Keep-alive intervals made unref during runs: held again after, for the program's own. */
const keepAlives = new Set<NodeJS.Timeout>()
let holds = 0
let exiting = false

type Patched = { exit: typeof process.exit; reallyExit: (code?: number) => never; abort: typeof process.abort; setInterval: typeof globalThis.setInterval }
let original: Patched | undefined

/** Ends the process, the way lorapipe itself does (never refused). */
export function exitProcess(code: number): never {
  exiting = true
  return process.exit(code)
}

/**
 * Watches `run` until the returned function is called. The first watch (or hold) installs the
 * guards; the last one removes them.
 */
export function watchRun(run: WatchedRun): () => void {
  runs.add(run)
  install()
  let done = false
  return () => {
    if (done) return
    done = true
    runs.delete(run)
    uninstall()
  }
}

/**
 * Keeps the guards for the rest of the process, for a command that ends it with `exitProcess`:
 * stage code left running after its run (a timer calling process.exit in a loop) cannot end it
 * with another status in the moment between the run's end and the command's.
 */
export function holdProcessWatch(): void {
  install()
}

function install(): void {
  holds++
  if (original) return
  const reallyExit = (process as unknown as { reallyExit: Patched['reallyExit'] }).reallyExit
  original = { exit: process.exit, reallyExit, abort: process.abort, setInterval: globalThis.setInterval }
  const o = original
  process.exit = function exit(code?: number | string | null) {
    if (exiting) return o.exit.call(process, code)
    return refuse(`called process.exit(${code === undefined ? '' : escapeControlLine(JSON.stringify(code) ?? String(code))})`)
  } as typeof process.exit
  // process.exit ends in process.reallyExit, which stage code could call itself.
  ;(process as unknown as { reallyExit: Patched['reallyExit'] }).reallyExit = function (code?: number) {
    if (exiting) return o.reallyExit.call(process, code)
    return refuse(`called process.reallyExit(${code ?? ''})`)
  }
  process.abort = () => refuse('called process.abort()')
  globalThis.setInterval = function (this: unknown, ...args: Parameters<typeof setInterval>) {
    const t = o.setInterval.apply(this, args)
    if (Number(args[1]) === KEEP_ALIVE_MS) {
      t.unref()
      keepAlives.add(t)
      // Cleared ones need nothing more (Node's Timeout marks them `_destroyed`).
      if (keepAlives.size > 64) for (const k of keepAlives) if ((k as unknown as { _destroyed?: boolean })._destroyed) keepAlives.delete(k)
    }
    return t
  } as typeof globalThis.setInterval
  process.on('beforeExit', onBeforeExit)
  process.on('uncaughtException', onUncaught)
}

function uninstall(): void {
  holds--
  if (holds > 0 || !original) return
  process.exit = original.exit
  ;(process as unknown as { reallyExit: Patched['reallyExit'] }).reallyExit = original.reallyExit
  process.abort = original.abort
  globalThis.setInterval = original.setInterval
  for (const t of keepAlives) t.ref()
  keepAlives.clear()
  original = undefined
  process.off('beforeExit', onBeforeExit)
  process.off('uncaughtException', onUncaught)
  // Tracking async contexts costs every Promise a little: only while runs need it.
  stageContext.disable()
}

function refuse(call: string): never {
  blame(call)
  throw new ProcessExitRefused({ call })
}

/** Fails the stage that made `call`, or the stages that may have. */
function blame(call: string): void {
  // A stage that ended may be the culprit too (its leftover timer), but it is never a suspect.
  const known = [...runs].flatMap((r) => [...r.stages])
  const running = known.filter((s) => s.running)
  const inFiber = Option.getOrUndefined(Fiber.getCurrentFiber())?.getFiberRef(CurrentStage)
  let culprit = [inFiber, stageContext.getStore()].find((s) => s !== undefined && known.includes(s))
  if (!culprit) {
    const named = stackFiles()
    const byModule = known.filter((s) => s.module !== undefined && named.has(s.module))
    if (byModule.length === 1) culprit = byModule[0]
  }
  const custom = running.filter((s) => s.module !== undefined)
  const suspects = custom.length > 0 ? custom : running
  if (!culprit && suspects.length === 1) culprit = suspects[0]
  if (culprit) return culprit.fail(call)
  if (suspects.length > 0) {
    const names = suspects.map((s) => `\`${s.id}\``).join(', ')
    for (const s of suspects) s.fail(`${call}: one of the stages running then did (${names}), lorapipe cannot tell which`)
    return
  }
  // Code a finished stage left behind (a timer), between stages.
  for (const r of runs) r.problems.push(`stage code ${call} while no stage was running (a timer or callback left behind by a stage that had finished?)`)
}

/** Files named by the current stack (real paths too), to find the stage module a call came from. */
function stackFiles(): Set<string> {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 50
  const stack = new Error().stack ?? ''
  Error.stackTraceLimit = limit
  const files = new Set<string>()
  for (const m of stack.matchAll(/\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?$/gm)) {
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!
    files.add(file)
    try {
      files.add(realpathSync(file))
    } catch {
      // gone or not a file: the name as it is will do
    }
  }
  return files
}

function onBeforeExit(): void {
  for (const r of runs) {
    for (const s of r.stages) if (s.running) s.fail(`never settled: its ${s.kind ?? 'Effect'} neither succeeded nor failed, and nothing is left for it to wait for`)
  }
}

// A refused exit thrown from a timer or callback of stage code has nothing above it to catch it:
// it is dropped here (the stage has failed already). Other errors are left to the program's own
// handlers, or, where there are none, to Node's default (print and exit 1).
function onUncaught(e: unknown): void {
  if (isProcessExitRefused(e)) return
  if (process.listenerCount('uncaughtException') > 1) return
  process.off('uncaughtException', onUncaught)
  process.nextTick(() => {
    throw e
  })
}
