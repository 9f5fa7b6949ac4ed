// Temporary files and folders a killed run left in its run folder (`.metrics.json.tmp-<pid>-<hex>`,
// `adapter.tmp-<pid>-<hex>`, `.step-10.tmp-<pid>-<hex>`): removed when the run is resumed. Only
// lorapipe's own temporary names are touched, only inside the run folder, never this process's
// own, and symbolic links are never followed. The caller holds the run folder's lock, so no
// other lorapipe process is writing there.
import { lstatSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { isTempFile, tempFileOwner } from '../fs/atomic.ts'

/** Removes the leftovers under `runDir` and returns their paths. Call with the run folder locked. */
export function removeLeftovers(runDir: string): string[] {
  const removed: string[] = []
  const visit = (dir: string) => {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return
    }
    for (const name of names) {
      const path = join(dir, name)
      let st
      try {
        st = lstatSync(path)
      } catch {
        continue
      }
      if (isTempFile(name) && tempFileOwner(name) !== process.pid) {
        rmSync(path, { recursive: true, force: true })
        removed.push(path)
      } else if (st.isDirectory()) visit(path)
    }
  }
  visit(runDir)
  return removed.sort()
}
