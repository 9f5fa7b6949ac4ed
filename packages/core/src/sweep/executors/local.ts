// The local TrialExecutor: each trial is an ordinary `lorapipe run` in its own child process
// (TensorFlow.js blocks its event loop, and a crash or an out-of-memory kill must take down the
// trial, not the sweep). The executor writes the trial's run folder with the trial's pipeline, as
// `lorapipe run` would (config.resolved.yaml and run.json), after the checks `run` makes of its
// files, and starts `lorapipe run --resume <folder> --json`, which starts a folder that has not
// run yet as a new run and continues one that has from its last checkpoint: what a trial runs is
// what its folder holds. Its run events are read from the child's JSON lines; stopping a trial is
// SIGTERM, which `lorapipe run` answers by stopping cleanly with its checkpoint kept (exit 130).
// The machine's threads are divided between the trials that run at once.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import * as Effect from 'effect/Effect'
import * as Either from 'effect/Either'
import * as Layer from 'effect/Layer'
import { type Diagnostic, formatDiagnostics } from '../../diagnostics.ts'
import type { RunEvent } from '../../events.ts'
import { writingFile } from '../../fs/append-lines.ts'
import { processAlive, processCommandLine } from '../../os/process.ts'
import { machineThreads } from '../../os/threads.ts'
import { sourceTextsOf } from '../../pipeline/load.ts'
import type { ValidatedPipeline } from '../../pipeline/types.ts'
import { inspectRunFolder, newRunRefusal, prepareRunDir } from '../../run/folder.ts'
import { TrialExecutor, type TrialOutcome, type TrialRunner, type TrialSpec } from '../coordinator/executor.ts'
import { trialPidFile as pidFile } from '../folder/layout.ts'

export interface LocalExecutorOptions {
  /** Trials that run at once; each gets `threads / concurrency` threads. */
  readonly concurrency: number
  /** The lorapipe entry script that runs a trial (the CLI's launcher). */
  readonly entry: string
  /** The checks `run` makes of a pipeline's files before it writes anything (the runner's preflight: core does not know it). */
  readonly checkFiles?: (pipeline: ValidatedPipeline) => Promise<readonly Diagnostic[]>
  /** The folder trials run in (relative `--set` paths are relative to it); default: this process's. */
  readonly cwd?: string
  /** Threads of the whole machine to divide; default: core's machineThreads() (LORAPIPE_THREADS, else every core). */
  readonly threads?: number
  readonly env?: Readonly<Record<string, string | undefined>>
  /** How long a trial may take to stop after SIGTERM before it is killed (default 60 s). */
  readonly stopTimeoutMs?: number
  /**
   * Ties each trial to this process through its stdin (for queue workers): a byte is written every
   * second, and the trial stops itself cleanly (SIGTERM) when stdin ends (this process died) or no
   * byte came for `timeoutMs` (this process is frozen), so it never trains on into a run folder
   * that another worker has taken over.
   */
  readonly leash?: { readonly timeoutMs: number }
}

/**
 * Preloaded into every trial: when the sweep process dies (kill -9), the trial is re-parented, and
 * it stops itself cleanly (SIGTERM, once) instead of training on unobserved into a folder that a
 * resumed sweep will continue.
 */
const ORPHAN_GUARD = `data:text/javascript,${encodeURIComponent(
  "const p=process.ppid;const t=setInterval(()=>{if(process.ppid!==p){clearInterval(t);process.kill(process.pid,'SIGTERM')}},250);t.unref()",
)}`

/**
 * The leash's end in the trial (see LocalExecutorOptions.leash); stdin is unref'd so the run can
 * exit. Time during which the trial's own event loop was blocked (start-up, a long step) does not
 * count as silence: the bytes are waiting to be read then.
 */
const leashGuard = (timeoutMs: number) =>
  `data:text/javascript,${encodeURIComponent(
    `let last=Date.now(),tick=last,done=false;const stop=()=>{if(!done){done=true;process.kill(process.pid,'SIGTERM')}};` +
      `process.stdin.on('data',()=>{last=Date.now()});process.stdin.on('end',stop);process.stdin.on('error',stop);process.stdin.unref();` +
      `setInterval(()=>{const now=Date.now(),gap=now-tick;tick=now;if(gap>500)last+=gap-250;if(now-last>${timeoutMs})stop()},250).unref()`,
  )}`

/** A trial process left over from a sweep that was killed: the pid in its file, when it still runs this trial. */
function leftover(runDir: string): number | undefined {
  const f = pidFile(runDir)
  if (!existsSync(f)) return undefined
  const pid = Number(readFileSync(f, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return undefined
  // Not a reused pid: the process must be running this very trial (without /proc, trust the file).
  const cmdline = processCommandLine(pid)
  return cmdline === undefined || cmdline.includes(runDir) ? pid : undefined
}

/** Waits for a leftover trial process to stop (asking it to, then forcing it), so that two never share a run folder. */
async function settleLeftover(runDir: string, timeoutMs: number): Promise<void> {
  const pid = leftover(runDir)
  if (pid === undefined) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const t0 = Date.now()
  while (processAlive(pid)) {
    if (Date.now() - t0 > timeoutMs) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The last lines of what a process wrote, for a failed trial's reason. */
class Tail {
  private text = ''
  constructor(private readonly max = 4000) {}
  push(chunk: string): this {
    this.text = (this.text + chunk).slice(-this.max)
    return this
  }
  lines(n = 12): string {
    return this.text.trimEnd().split('\n').slice(-n).join('\n').trim()
  }
}

/** A trial that did not start because `lorapipe run` would have refused it (exit 2): said as the run says it. */
const refused = (said: string): TrialOutcome => ({ status: 'failed', error: ['refused its pipeline (exit 2, bad input)', new Tail().push(said).lines()].filter(Boolean).join('\n') })

/**
 * Writes a new trial's run folder with its pipeline, as `lorapipe run` does before it runs
 * anything; or how the trial fails when `run` would have refused it (nothing written then).
 * A folder that holds the trial's run already is continued as it is.
 */
async function prepareTrial(spec: TrialSpec, opts: LocalExecutorOptions): Promise<TrialOutcome | undefined> {
  const state = inspectRunFolder(spec.runDir)
  if (state.kind === 'run' && spec.resume) return undefined
  const taken = newRunRefusal(spec.runDir, state)
  if (taken) return refused(`error: ${taken.message}\n  hint: ${taken.hint}`)
  if (Either.isLeft(spec.pipeline)) {
    const e = spec.pipeline.left
    return refused(`${formatDiagnostics(e.diagnostics, sourceTextsOf(e))} in ${e.file}`)
  }
  const p = spec.pipeline.right
  const problems = (await opts.checkFiles?.(p)) ?? []
  if (problems.length > 0) return refused(`${formatDiagnostics(problems, p.texts)}\nnothing was run or written`)
  prepareRunDir(p, spec.runDir, spec.sets, opts.cwd ?? process.cwd())
  return undefined
}

export function localTrialRunner(opts: LocalExecutorOptions): TrialRunner {
  const entry = opts.entry
  const threads = Math.max(1, Math.floor((opts.threads ?? machineThreads()) / Math.max(1, opts.concurrency)))
  const stopTimeoutMs = opts.stopTimeoutMs ?? 60_000
  return {
    run: (spec: TrialSpec, onEvent: (e: RunEvent) => void) =>
      Effect.flatMap(
        // Its folder is written here, in order: a write that fails (a full disk) is a defect, which the coordinator names.
        Effect.promise(() => settleLeftover(spec.runDir, stopTimeoutMs).then(() => prepareTrial(spec, opts))),
        (refusal) =>
          refusal ? Effect.succeed(refusal) : Effect.async<TrialOutcome>((resume) => {
            mkdirSync(dirname(spec.runDir), { recursive: true })
            const guards = ['--import', ORPHAN_GUARD, ...(opts.leash ? ['--import', leashGuard(opts.leash.timeoutMs)] : [])]
            const child = spawn(process.execPath, [...guards, entry, 'run', '--resume', spec.runDir, '--json'], {
              cwd: opts.cwd ?? process.cwd(),
              // The pipeline's runtime.threads, when set, still wins over LORAPIPE_THREADS.
              env: { ...process.env, ...opts.env, LORAPIPE_THREADS: String(threads), NO_COLOR: '1', FORCE_COLOR: '0' },
              // stdin is the leash when there is one; else it is closed at once (as /dev/null would be).
              stdio: ['pipe', 'pipe', 'pipe'],
              // Its own process group: a Ctrl-C on the terminal reaches the sweep, which stops each
              // trial once; a second signal would make a trial exit at once without its checkpoint.
              detached: true,
            })
            child.stdin.on('error', () => undefined)
            try {
              if (child.pid !== undefined) writingFile(pidFile(spec.runDir), () => writeFileSync(pidFile(spec.runDir), `${child.pid}\n`))
            } catch (e) {
              // Without its pid file a trial could not be found again after a kill: it does not run.
              // The error (a full disk...) is the sweep folder's; the coordinator says so.
              child.once('exit', () => resume(Effect.die(e)))
              child.kill('SIGKILL')
              return
            }
            const leash = opts.leash ? setInterval(() => child.stdin.write('.'), Math.min(1000, opts.leash.timeoutMs / 3)) : undefined
            if (!leash) child.stdin.end()
            const stderr = new Tail()
            let lastFailure: string | undefined
            let done = false
            child.stderr.setEncoding('utf8')
            child.stderr.on('data', (d: string) => stderr.push(d))
            const lines = createInterface({ input: child.stdout })
            lines.on('line', (line) => {
              let e: RunEvent
              try {
                e = JSON.parse(line) as RunEvent
              } catch {
                return stderr.push(line + '\n')
              }
              if (e._tag === 'StageFailed') lastFailure = `stage \`${e.stage}\` failed: ${e.error}`
              onEvent(e)
            })
            const finish = (o: TrialOutcome) => {
              if (leash) clearInterval(leash)
              if (done) return
              done = true
              rmSync(pidFile(spec.runDir), { force: true })
              resume(Effect.succeed(o))
            }
            child.on('error', (e) => finish({ status: 'failed', error: `could not start the trial: ${e.message}` }))
            // 'close': the process exited and its output is read to the end.
            child.on('close', (code, signal) => {
              const tail = stderr.lines()
              if (code === 0) return finish({ status: 'succeeded' })
              if (code === 130) return finish({ status: 'interrupted' })
              const why =
                signal !== null
                  ? `killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : ''}`
                  : code === 2
                    ? 'refused its pipeline (exit 2, bad input)'
                    : code === 134 && /heap out of memory/i.test(tail)
                      ? 'ran out of memory'
                      : `exited with code ${code}`
              finish({ status: 'failed', error: [lastFailure ?? why, tail && tail !== lastFailure ? tail : ''].filter(Boolean).join('\n') })
            })
            // Interrupted (pruned, or the sweep stops): ask the trial to stop and wait until it has.
            return Effect.async<void>((stopped) => {
              if (child.exitCode !== null || child.signalCode !== null) return stopped(Effect.void)
              const force = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs)
              child.once('close', () => {
                clearTimeout(force)
                rmSync(pidFile(spec.runDir), { force: true })
                stopped(Effect.void)
              })
              child.kill('SIGTERM')
            })
          }),
      ),
  }
}

export function localExecutorLayer(opts: LocalExecutorOptions): Layer.Layer<TrialExecutor> {
  return Layer.succeed(TrialExecutor, localTrialRunner(opts))
}
