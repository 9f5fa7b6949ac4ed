// Where the hub client looks for things, resolved from the environment exactly as huggingface_hub's
// constants.py does, so Python and lorapipe share one cache and one login.
import { FILE_KINDS, readUserText } from '@lorapipe/core/fs/user-file.ts'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import * as Redacted from 'effect/Redacted'
import { addSecret } from '@lorapipe/core/text/redact.ts'

export const DEFAULT_ENDPOINT = 'https://huggingface.co'
export const DEFAULT_REVISION = 'main'

export interface HubEnv {
  /** HF_ENDPOINT without a trailing slash (default https://huggingface.co). */
  readonly endpoint: string
  /** HF_HOME, or $XDG_CACHE_HOME/huggingface, or ~/.cache/huggingface. */
  readonly hfHome: string
  /** HF_HUB_CACHE (or the legacy HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub. */
  readonly cacheDir: string
  /** HF_TOKEN (or the legacy HUGGING_FACE_HUB_TOKEN), else the content of the token file; never printed. */
  readonly token: Redacted.Redacted<string> | undefined
  /** HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1/ON/YES/TRUE. */
  readonly offline: boolean
}

export interface HubEnvOverrides {
  endpoint?: string | undefined
  cacheDir?: string | undefined
  /** A token string, or false to send none even when HF_TOKEN is set. */
  token?: string | false | undefined
  offline?: boolean | undefined
}

function expandHome(p: string): string {
  if (p === '~') return homedir()
  if (p.startsWith('~/')) return join(homedir(), p.slice(2))
  return p
}

// huggingface_hub's _is_true.
function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.toUpperCase())
}

// huggingface_hub's _clean_token: strip newlines and surrounding space; empty means none.
function cleanToken(t: string | undefined): string | undefined {
  if (t === undefined) return undefined
  const c = t.replace(/[\r\n]/g, '').trim()
  return c.length > 0 ? c : undefined
}

function readTokenFile(path: string): string | undefined {
  try {
    // Guarded: a token path that is a FIFO or a device is no token, not a hang.
    return cleanToken(readUserText(path, FILE_KINDS.secret))
  } catch {
    return undefined
  }
}

/** Resolves endpoint, cache folder, token and offline mode from `env` (default process.env), then applies overrides. */
export function resolveHubEnv(overrides: HubEnvOverrides = {}, env: NodeJS.ProcessEnv = process.env): HubEnv {
  const hfHome = resolve(expandHome(env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface')))
  const cacheDir = resolve(expandHome(overrides.cacheDir ?? env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome, 'hub')))
  const endpoint = (overrides.endpoint ?? (env.HF_ENDPOINT || DEFAULT_ENDPOINT)).replace(/\/+$/, '')
  let token: string | undefined
  if (overrides.token === false) token = undefined
  else if (typeof overrides.token === 'string') token = cleanToken(overrides.token)
  else
    token =
      cleanToken(env.HF_TOKEN) ??
      cleanToken(env.HUGGING_FACE_HUB_TOKEN) ??
      readTokenFile(expandHome(env.HF_TOKEN_PATH ?? join(hfHome, 'token')))
  addSecret(token) // from the token file too: redacted from every message from now on
  const offline = overrides.offline ?? (isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE))
  return { endpoint, hfHome, cacheDir, token: token === undefined ? undefined : Redacted.make(token), offline }
}
