// lorapipe as a user gets it: `npm pack` the workspace's `lorapipe` package (built JavaScript and
// type declarations, no TypeScript sources), then `npm install` the tarball into an empty project
// folder outside the checkout: dependencies from npm's cache (filled by `npm ci`), else the
// registry. For tests/install.test.ts and tests/library.test.ts.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from './shared.ts'

/** npm's own variables from the `npm test` that runs us must not leak into the npm we start. */
export const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(package|lifecycle|command)|^INIT_CWD$/.test(k))) as Record<string, string>

export function sh(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync(cmd, args, { cwd, env: { ...cleanEnv, NO_COLOR: '1' }, encoding: 'utf8', timeout })
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', out: `${r.stdout}\n${r.stderr}` }
}

const offlineMiss = /ENOTCACHED|only-if-cached/
const unreachable = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|network/i

export interface Installed {
  /** The packed files, as npm lists them. */
  readonly files: readonly string[]
  /** The empty project folder lorapipe was installed into. */
  readonly project: string
}

/** Packs lorapipe into `base` and installs it into `base/project`; a string (why) when the registry is needed and unreachable. */
export function packAndInstall(base: string): Installed | string {
  const pack = sh('npm', ['pack', '-w', 'lorapipe', '--pack-destination', base, '--json'], repoRoot)
  assert.equal(pack.code, 0, pack.out)
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[]
  const project = join(base, 'project')
  mkdirSync(project)
  const tarball = join(base, packed!.filename)
  let install = sh('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund'], project)
  if (install.code !== 0 && offlineMiss.test(install.out)) install = sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project)
  if (install.code !== 0 && unreachable.test(install.out)) return `skipped: npm install needs the npm registry for lorapipe's dependencies, and it is unreachable (${install.out.match(unreachable)?.[0]})`
  assert.equal(install.code, 0, install.out)
  return { files: packed!.files.map((f) => f.path), project }
}
