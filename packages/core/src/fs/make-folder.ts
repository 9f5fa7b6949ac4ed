// `mkdir -p` that always ends. Node's `mkdirSync(p, { recursive: true })` loops forever where a
// file system answers ENOENT to creating an entry in a folder that exists (/proc, some FUSE
// mounts): `--out /proc/x` hung lorapipe. Here each level is created once, and the first error
// is thrown as it is (an errno error with the path), for the caller or the CLI to explain.
import { mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

/** Creates `path` and any missing parents; an existing folder is fine. */
export function makeFolder(path: string): void {
  const abs = resolve(path)
  const missing: string[] = []
  let p = abs
  for (;;) {
    try {
      if (statSync(p).isDirectory()) break
      // A file in the way: mkdir reports it (EEXIST / ENOTDIR) with its path.
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    missing.push(p)
    const parent = dirname(p)
    if (parent === p) break
    p = parent
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir)
    } catch (e) {
      // Created meanwhile by another process: fine. Anything else stops here.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw e
    }
  }
}
