// What the distributed-sweep tests share: `lorapipe` processes (coordinators, workers) started with
// the queue's intervals cut to seconds, waiting for what they print or write, and reading a sweep
// folder's record and leaderboard.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { startLorapipe } from './cli.ts'
import { repoRoot } from './shared.ts'

/** A 4 s lock and a 1.5 s stall check: a killed or frozen worker is noticed in seconds. */
export const queueTuning = {
  LORAPIPE_QUEUE_LOCK_MS: '4000',
  LORAPIPE_QUEUE_STALLED_MS: '1500',
  LORAPIPE_QUEUE_LEASH_MS: '2500',
  LORAPIPE_QUEUE_POLL_MS: '500',
  LORAPIPE_QUEUE_BACKOFF_MS: '300',
}

export interface Proc {
  readonly child: ChildProcess
  /** Everything it wrote so far (stdout and stderr). */
  readonly out: () => string
  readonly exited: Promise<number | null>
}

/** Children started by `start`: a test file's `after` kills those still running. */
export const children: ChildProcess[] = []

export function start(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Proc {
  const child = startLorapipe(args, { env: { ...queueTuning, ...opts.env }, ...(opts.cwd ? { cwd: opts.cwd } : {}) })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
  return { child, out: () => out, exited }
}

/** Kills (SIGCONT then SIGKILL) every child still running. */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) (c.kill('SIGCONT'), c.kill('SIGKILL'))
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, procs: Proc[] = [], timeoutMs = 150_000): Promise<void> {
  const t0 = Date.now()
  for (;;) {
    let ok = false
    try {
      ok = await cond()
    } catch {
      ok = false
    }
    if (ok) return
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}\n${procs.map((p) => p.out()).join('\n---\n')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export interface RecordLine {
  type: string
  trial?: number
  resume?: boolean
  state?: string
  reason?: string
  status?: string
  assignment?: Record<string, unknown>
}

export const record = (dir: string): RecordLine[] =>
  existsSync(join(dir, 'sweep.jsonl'))
    ? readFileSync(join(dir, 'sweep.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as RecordLine]
          } catch {
            return [] // a line being written
          }
        })
    : []

export const board = (dir: string) => JSON.parse(readFileSync(join(dir, 'leaderboard.json'), 'utf8')).rows as { trial: number; state: string; objective?: number; reason?: string; evaluations: number }[]

export function sweepFile(dir: string, name: string, base: string, body: string): string {
  const f = join(dir, `${name}.yaml`)
  writeFileSync(f, `name: ${name}\nbase: ${base}\nmethod: grid\n${body}`)
  return f
}

/**
 * A copy of the bag-of-words fixture (pipeline, stage module, data) in `dir`/project, for tests
 * whose workers may use only the folders they are given: returns the pipeline's path.
 */
export function bowProject(dir: string): string {
  const project = join(dir, 'project')
  for (const sub of ['pipelines', 'stages', 'data']) mkdirSync(join(project, sub), { recursive: true })
  cpSync(join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow.yaml'), join(project, 'pipelines', 'bow.yaml'))
  cpSync(join(repoRoot, 'tests', 'fixtures', 'stages', 'bow-logreg.ts'), join(project, 'stages', 'bow-logreg.ts'))
  for (const f of ['bow-train.tsv', 'bow-dev.tsv']) cpSync(join(repoRoot, 'tests', 'fixtures', 'data', f), join(project, 'data', f))
  return realpathSync(join(project, 'pipelines', 'bow.yaml'))
}
