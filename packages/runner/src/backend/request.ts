// Which TensorFlow.js backend a run asks for (`runtime.backend`, or LORAPIPE_BACKEND, the
// operator's override) and what to say when it cannot be had. Without TensorFlow.js: the preflight
// refuses an unknown name or a native backend that is not installed before anything is written,
// with the words the backend selection itself uses.
import { createRequire } from 'node:module'
import * as Data from 'effect/Data'
import { runtimeSchema } from '@lorapipe/core/pipeline/sections/runtime.ts'

export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu'
export const BACKEND_NAMES: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']

export type BackendRequestSource = 'auto' | 'pipeline' | 'env'

export class BackendError extends Data.TaggedError('BackendError')<{
  readonly requested: string
  readonly source: BackendRequestSource
  readonly message: string
}> {}

const ALIASES: Record<string, BackendName | 'auto'> = {
  auto: 'auto',
  'tfjs-node-gpu': 'tfjs-node-gpu',
  'node-gpu': 'tfjs-node-gpu',
  gpu: 'tfjs-node-gpu',
  'tfjs-node': 'tfjs-node',
  node: 'tfjs-node',
  tensorflow: 'tfjs-node',
  wasm: 'wasm',
  'tfjs-backend-wasm': 'wasm',
  cpu: 'cpu',
  'tfjs-backend-cpu': 'cpu',
}

export const BACKEND_PACKAGE: Record<BackendName, string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
}

/** The setting a request came from, as the user wrote it. */
export const backendSetting = (source: BackendRequestSource) => (source === 'env' ? 'LORAPIPE_BACKEND' : 'runtime.backend')

function installHint(name: BackendName): string {
  switch (name) {
    case 'tfjs-node-gpu':
      return 'install it with `npm install @tensorflow/tfjs-node-gpu` (needs CUDA and cuDNN matching its TensorFlow build)'
    case 'tfjs-node':
      return 'install it with `npm install @tensorflow/tfjs-node` (downloads a native TensorFlow library)'
    default:
      return `reinstall the dependencies (\`npm install\`); ${BACKEND_PACKAGE[name]} is a dependency of @lorapipe/runner`
  }
}

/** A backend that cannot be had, in words: what is wrong and how to fix it. */
export interface BackendProblem {
  readonly requested: string
  readonly source: BackendRequestSource
  readonly message: string
  readonly hint: string
}

/** An explicitly requested backend that cannot start: why (`why`), and the way out. */
export function unavailableBackend(name: BackendName, raw: string, source: BackendRequestSource, why: string): BackendProblem {
  const where = backendSetting(source)
  return { requested: raw, source, message: `backend '${name}' requested by ${where} is not available: ${why}`, hint: `${installHint(name)}, or set ${where} to auto` }
}

export type BackendRequest = { readonly name: BackendName | 'auto'; readonly source: BackendRequestSource; readonly raw: string } | { readonly problem: BackendProblem }

/** The backend asked for; the environment variable, the operator's override for this run, beats the pipeline. */
export function backendRequest(backend: string | undefined, env: Record<string, string | undefined>): BackendRequest {
  const fromEnv = env.LORAPIPE_BACKEND?.trim()
  const fromPipeline = backend?.trim()
  const [raw, source] = fromEnv ? [fromEnv, 'env' as const] : fromPipeline ? [fromPipeline, 'pipeline' as const] : [runtimeSchema.properties.backend.default, 'auto' as const]
  const name = ALIASES[raw.toLowerCase()]
  if (!name) return { problem: { requested: raw, source, message: `unknown backend '${raw}' in ${backendSetting(source)}`, hint: `use auto, ${BACKEND_NAMES.join(', ')}` } }
  return { name, source, raw }
}

const require = createRequire(import.meta.url)

/**
 * What can be told without starting anything: an unknown name, or a native backend asked for by
 * name whose package is not installed. (One that is installed and still fails to start, say for a
 * missing CUDA, is found when the run starts it.)
 */
export function backendProblem(backend: string | undefined, env: Record<string, string | undefined>): BackendProblem | undefined {
  const r = backendRequest(backend, env)
  if ('problem' in r) return r.problem
  if (r.name !== 'tfjs-node' && r.name !== 'tfjs-node-gpu') return undefined
  try {
    require.resolve(BACKEND_PACKAGE[r.name])
    return undefined
  } catch {
    return unavailableBackend(r.name, r.raw, r.source, `${r.name} not installed`)
  }
}
