// Locates ../shared (the read-only reference material beside the checkout). Tests that need it
// skip with this message when it is missing, so a bare clone still passes `npm test`.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)))

const candidate = process.env.LORAPIPE_SHARED ?? join(repoRoot, '..', 'shared')

/** Absolute path of ../shared, or undefined when it is not there. */
export const sharedDir: string | undefined = existsSync(join(candidate, 'README.md')) ? candidate : undefined

/** `skip` option for node:test: false when ../shared exists, else a message saying why the test is skipped. */
export const needsShared: string | false = sharedDir
  ? false
  : `skipped: ../shared not found beside the checkout (set LORAPIPE_SHARED to its path to run this test)`

/** Path inside ../shared; only call from tests guarded by `needsShared`. */
export function shared(...parts: string[]): string {
  if (!sharedDir) throw new Error('../shared is not available')
  return join(sharedDir, ...parts)
}
