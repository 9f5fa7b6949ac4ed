// Runs the real `lorapipe` executable (bin/lorapipe.js) in a child process.
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from './shared.ts'

export const bin = join(repoRoot, 'packages', 'lorapipe', 'bin', 'lorapipe.js')

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export function lorapipe(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
    timeout: 120_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Starts lorapipe and returns the child, for tests that signal it. */
export function startLorapipe(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawn(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** The same as `lorapipe`, without blocking the event loop: for tests that serve HTTP themselves. */
export function lorapipeAsync(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const child = startLorapipe(args, opts)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}
