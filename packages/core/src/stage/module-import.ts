// Importing a user's stage module (`uses: ./my-stage.ts`) from any folder. The first import
// registers module-hooks.ts on Node's hooks thread (it costs a thread, so only pipelines with
// module stages pay for it); the hooks resolve `lorapipe`, `@lorapipe/core` and `effect` to this
// installation and compile TypeScript.
//
// lorapipe runs either from its TypeScript sources (through tsx, in a checkout) or from the
// bundle scripts/build.mjs writes into packages/lorapipe/dist (flat: index.js is the stage API,
// built from packages/lorapipe/src/index.ts, stage-module-hooks.js the hooks, and effect.js the
// bundled effect, beside the chunk this module is bundled into).
import { register } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { StageModuleHooksData } from './module-hooks.ts'

const bundled = !import.meta.url.endsWith('.ts')

let registered = false

function registerHooks(): void {
  if (registered) return
  registered = true
  const here = import.meta.url
  const data: StageModuleHooksData = bundled
    ? { api: new URL('./index.js', here).href, anchor: here, effect: new URL('./effect.js', here).href, own: [new URL('../', here).href] }
    : // the sources, from packages/core/src/stage/: every workspace package is lorapipe's own
      { api: new URL('../../../lorapipe/src/index.ts', here).href, anchor: here, own: [new URL('../../../', here).href] }
  register(new URL(bundled ? './stage-module-hooks.js' : './module-hooks.ts', here), { data })
}

/** Imports the module at an absolute path, the way every stage module is imported. */
export async function importStageModule(path: string): Promise<Record<string, unknown>> {
  registerHooks()
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>
}
