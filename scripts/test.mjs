#!/usr/bin/env node
// Runs every *.test.ts / *.test.tsx under packages/*/test and tests/ with node's own test runner,
// loading TypeScript through tsx. Node 20's --test takes no globs, so we find the files here.
// Extra arguments are passed to node (e.g. `npm test -- --test-name-pattern=cache`), and bare
// paths select test files (e.g. `npm test -- packages/core`).
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const isTest = (f) => /\.test\.tsx?$/.test(f)

function walk(dir, out) {
  let entries
  try { entries = readdirSync(dir) } catch { return out }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const p = join(dir, name)
    const s = statSync(p)
    if (s.isDirectory()) walk(p, out)
    else if (isTest(name)) out.push(p)
  }
  return out
}

const args = process.argv.slice(2)
const flags = args.filter((a) => a.startsWith('-'))
const selectors = args.filter((a) => !a.startsWith('-'))
const roots = [...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'test')), join(root, 'tests')]
let files = roots.flatMap((r) => walk(r, [])).sort()
if (selectors.length > 0) {
  files = files.filter((f) => selectors.some((s) => relative(root, f).includes(s.replace(/^\.\//, ''))))
}
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, LORAPIPE_TEST: '1' },
})
process.exit(res.status ?? 1)
