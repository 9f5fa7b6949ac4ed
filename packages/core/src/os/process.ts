// Whether a process id names a running process, for locks and leftover trial processes. A process
// that has exited but was not reaped (a zombie: its parent died and the container's init does not
// reap orphans) still answers kill(pid, 0), but it holds nothing: on Linux, /proc says so.
import { readFileSync } from 'node:fs'

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** A process that runs (or sleeps, or is stopped): not gone, and not a zombie waiting to be reaped. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const state = statFields(pid)?.[0]
  return state !== 'Z' && state !== 'X'
}

/** A process's start time in clock ticks since boot (Linux), to tell a reused pid; undefined elsewhere or when it is gone. */
export function processStart(pid: number): number | undefined {
  const start = Number(statFields(pid)?.[19])
  return Number.isFinite(start) ? start : undefined
}

/** A process's command line (Linux), its arguments joined by NUL; undefined elsewhere or when it is gone. */
export function processCommandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return undefined
  }
}
