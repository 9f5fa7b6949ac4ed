#!/usr/bin/env node
// The `lorapipe` command. It runs the JavaScript that scripts/build.mjs bundles into ../dist
// (`npm ci` builds it; an installed lorapipe ships it). In a checkout, dist/inputs.json lists the
// sources that build was made from: when one of them is newer than the build, or the build is
// missing, lorapipe runs its TypeScript sources through tsx instead (slower to start), so an edit
// is never shadowed by an old build. `npm run build` makes the build current again.
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dist = new URL('../dist/', import.meta.url)

/** 'installed' (no sources, only the build), 'current', or 'stale' (run the sources). */
function buildState() {
  let manifest
  try {
    manifest = JSON.parse(readFileSync(new URL('inputs.json', dist), 'utf8'))
  } catch {
    try {
      statSync(new URL('../../cli/src/main.ts', import.meta.url))
      return 'stale' // a checkout that was not built
    } catch {
      return 'installed'
    }
  }
  try {
    const built = statSync(new URL('inputs.json', dist)).mtimeMs
    const root = `${fileURLToPath(new URL(`${manifest.root}/`, dist))}/` // paths, not URLs: cheaper
    for (const f of manifest.inputs) if (statSync(root + f).mtimeMs > built) return 'stale'
    return 'current'
  } catch {
    return 'stale' // a source file was removed or renamed
  }
}

if (buildState() === 'stale') {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../../cli/src/main.ts')
} else {
  await import('../dist/cli.js')
}
